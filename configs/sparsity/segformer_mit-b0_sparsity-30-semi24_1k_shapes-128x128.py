# SegFormer-b0 (shapes): 2:4 semi-structured sparsity on the Mix-FFN 1x1
# convs and the attention output projections (layouts sparse tensor cores
# run), 30% unstructured elsewhere, decode head's conv_seg protected;
# one shot, then a 1000-iteration finetune from the baseline.
_base_ = '../segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py'

load_from = 'work_dirs/segformer_mit-b0_8xb8-2k_shapes-128x128/iter_2000.pth'
train_cfg = dict(max_iters=1000, val_interval=1000)
param_scheduler = None
optim_wrapper = dict(optimizer=dict(lr=2e-4))

custom_hooks = [
    dict(
        type='mmprune.UnstructuredSparsityHook',
        ratios=[(r'backbone\.layers\.\d\.0\.projection', 0.1)],
        default_ratio=0.3,
        semi_structured=[r'ffn\.layers\.[04]$', r'attn\.attn\.out_proj'],
        start_iter=0,
        input_shape=(128, 128)),
]
