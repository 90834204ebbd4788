# CompRess memory-bank ablation (the reviewers' "shared vs separate bank x EMA vs no EMA"), one command:
#     python tools/bench.py --config queue_ablation
# Same data, teacher (the default suite's cached one), student and budget as the default suite; only the
# bank topology, the student-bank writer and the bank size change. Each row label is a variant of the
# registered class named by its `type` (its __init__ signature gives the other defaults).
#
#   label                 banks                       student bank written by    K
#   2q_ema                teacher + student           EMA key encoder (m 0.99)  2048   = compress_2q
#   2q_current            teacher + student           current student           2048   = compress_2q_nomom
#   1q_shared             one shared teacher bank     - (student projected)     2048   = compress_1q
#   1q_shared_mlp         one shared teacher bank     - (MLP projection)        2048
#   2q_ema_k512/_k4096    teacher + student           EMA key encoder           512 / 4096
#
# The fourth cell of the 2x2, "shared bank with an EMA writer", does not exist in CompRess: the shared
# bank holds teacher embeddings only, which no student encoder writes (docs/methods.md#ablation-switches), so
# the MLP-projection row takes its place as the other 1q design choice. The bank-size rows continue the
# official ablation (kNN rises with K from 256 to 128,000 on ImageNet; here K is capped by the 5,000 images).
_base_ = ['./default.py']
suite = 'queue_ablation'
methods = ['2q_ema', '2q_current', '1q_shared', '1q_shared_mlp', '2q_ema_k512', '2q_ema_k4096']
method_cfgs = dict(
    _delete_=True,
    **{
        '2q_ema': dict(type='compress_2q', bank_size=2048, momentum=0.99),
        '2q_current': dict(type='compress_2q_nomom', bank_size=2048),
        '1q_shared': dict(type='compress_1q', bank_size=2048),
        '1q_shared_mlp': dict(type='compress_1q', bank_size=2048, student_head='mlp'),
        '2q_ema_k512': dict(type='compress_2q', bank_size=512, momentum=0.99),
        '2q_ema_k4096': dict(type='compress_2q', bank_size=4096, momentum=0.99),
    })
