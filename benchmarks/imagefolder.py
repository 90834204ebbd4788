"""Scanning an ImageFolder layout (``root/<split>/<class>/<image>``) without loading any image.

Pure pathlib, so the command line can check a ``--data-root`` before torch is imported.
"""
from __future__ import annotations

from pathlib import Path

from .errors import DataError

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def scan_imagefolder(split_dir: Path):
    """(classes, [(path, class_id)]) of an ImageFolder split; raises DataError when unusable."""
    if not split_dir.is_dir():
        raise DataError(f'{split_dir} does not exist. An ImageFolder dataset root must contain train/ and '
                        f'val/ folders, each with one sub-folder of images per class.')
    classes = sorted(d.name for d in split_dir.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f'{split_dir} has no class sub-folders. Put the images of each class in their own '
                        f'folder, e.g. {split_dir}/<class_name>/img001.jpg.')
    samples = []
    for c, name in enumerate(classes):
        for path in sorted((split_dir / name).rglob('*')):
            if path.suffix.lower() in IMG_EXTENSIONS and path.is_file():
                samples.append((path, c))
    if not samples:
        raise DataError(f'{split_dir} contains no images with a known extension ({", ".join(IMG_EXTENSIONS)}).')
    return classes, samples
