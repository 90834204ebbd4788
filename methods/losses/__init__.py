"""Pure loss functions: tensors in, scalar out; no trainer, queue or teacher knowledge."""
from .bingo import bingo_loss, bingo_paper_loss, cutmix, cutmix_box, queue_ce
from .compress import bank_logits, compress_loss, kl_teacher_student
from .crd import crd_nce_loss, crd_normaliser, crd_scores
from .disco import disco_distill_loss
from .infonce import infonce_loss, moco_logits
from .moco_v3 import contrastive_loss, inbatch_logits, moco_v3_loss
from .regression import normalized_mse
from .seed import seed_logits, seed_loss
from .slimclr import slimclr_kd_loss, slimclr_width_weights

__all__ = ['bingo_loss', 'bingo_paper_loss', 'cutmix', 'cutmix_box', 'queue_ce', 'bank_logits', 'compress_loss', 'kl_teacher_student', 'crd_nce_loss', 'crd_normaliser', 'crd_scores', 'disco_distill_loss',
           'infonce_loss', 'moco_logits', 'contrastive_loss', 'inbatch_logits', 'moco_v3_loss', 'normalized_mse', 'seed_logits',
           'seed_loss', 'slimclr_kd_loss', 'slimclr_width_weights']
