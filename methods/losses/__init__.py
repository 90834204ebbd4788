"""Pure loss functions: tensors in, scalar out; no trainer, queue or teacher knowledge."""
from .compress import bank_logits, compress_loss, kl_teacher_student
from .infonce import infonce_loss, moco_logits

__all__ = ['bank_logits', 'compress_loss', 'kl_teacher_student', 'infonce_loss', 'moco_logits']
