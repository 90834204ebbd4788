"""Feature extraction, done once per student and shared by every evaluation of that student."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from benchmarks.data.batch_views import made_views
from benchmarks.data.datasets import ViewsPreprocessor


@torch.inference_mode()
def extract_features(model, dataset, batch_size: int = 256, device='cpu', desc: str = 'features',
                     num_workers: int = 0):
    """Centre-view features of every sample: (float32 [N, D], int64 [N]), in dataset order.

    ``model`` maps a normalised batch [B,3,H,W] to [B, D]; ``model=None`` returns raw pixels
    (the normalised centre view flattened), the floor every learned feature must beat.
    """
    pre = ViewsPreprocessor().to(device)
    if model is not None:
        was_training = model.training
        model.eval()
    centre = dataset.with_recipes(['center'])
    loader = DataLoader(centre, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=centre.collate_fn())
    feats, labels = [], []
    for index, views, label in tqdm(loader, desc=desc, leave=False, mininterval=1.0):
        x = pre.normalise(made_views(views, device)[0])
        f = x.flatten(1) if model is None else model(x)
        feats.append(f.float().cpu())
        labels.append(label)
    if model is not None:
        model.train(was_training)
    return torch.cat(feats).numpy(), torch.cat(labels).numpy().astype(np.int64)
