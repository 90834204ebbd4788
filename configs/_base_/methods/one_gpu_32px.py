# The methods of the 32 / 64 px one-GPU suites (cifar100_resnet18, stl10_resnet18) and their rescaled banks.
# every registered method of the default suite (slimclr_mocov3 with --methods all)
methods = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
           'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'supervised']
# Banks and EMA momenta at the MoCo CIFAR demo's values (K = 4096: the queue saturates there on CIFAR; m = 0.99
# for a 200-epoch schedule of 20k-40k steps); CRD's 16,384 negatives are its official CIFAR-100 setting
# (HobbitLong/RepDistiller --nce_k); cc's clusters scale with the data (methods/cluster.py: training images / 80).
method_cfgs = dict(
    moco_v2=dict(queue_size=4096, momentum=0.99),
    moco_v3=dict(momentum=0.99),
    moco_v2_small=dict(queue_size=4096, momentum=0.99),
    compress_2q=dict(bank_size=4096, momentum=0.99),
    compress_2q_nomom=dict(bank_size=4096),
    compress_1q=dict(bank_size=4096),
    crd=dict(num_negatives=16384),
    cc=dict(num_clusters=None),
    seed=dict(queue_size=4096),
    disco=dict(queue_size=4096, momentum=0.99),
    bingo=dict(queue_size=4096),
    slimclr=dict(queue_size=4096, momentum=0.99),
)
