"""Test-sized image data: a tiny synthetic spec and an ImageFolder copy of it on disk."""
from PIL import Image

from benchmarks.data.synthetic import SyntheticSpec, generate_split

TINY = SyntheticSpec(num_classes=4, train_per_class=6, val_per_class=3, image_size=32)


def write_imagefolder(root, spec=TINY, corrupt=False):
    """An ImageFolder copy of the generator (train/ and val/, one folder per class, PNG)."""
    for split in ('train', 'val'):
        images, labels = generate_split(spec, split)
        for k, (img, y) in enumerate(zip(images, labels)):
            d = root / split / spec.class_names[y]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(d / f'{k:04d}.png')
    if corrupt:
        (root / 'train' / spec.class_names[0] / 'broken.png').write_bytes(b'not a png')
    return root
