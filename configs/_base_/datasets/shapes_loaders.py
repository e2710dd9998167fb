# What every synthetic shapes loader shares (the base of shapes_coco.py,
# shapes_dota.py and shapes_seg.py): one worker kept alive, the training set
# shuffled, the validation set in order; each replaces the model config's
# loader whole (_delete_=True).
shapes_train_loader = dict(
    _delete_=True,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True))
shapes_val_loader = dict(
    _delete_=True,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
