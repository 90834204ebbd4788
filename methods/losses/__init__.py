"""Pure loss functions: tensors in, scalar out; no trainer, queue or teacher knowledge."""
from .compress import bank_logits, compress_loss, kl_teacher_student
from .infonce import infonce_loss, moco_logits
from .regression import normalized_mse
from .seed import seed_logits, seed_loss

__all__ = ['bank_logits', 'compress_loss', 'kl_teacher_student', 'infonce_loss', 'moco_logits',
           'normalized_mse', 'seed_logits', 'seed_loss']
