"""Epoch checkpoints that a kill at any moment leaves resumable (`benchmarks.engine.checkpoint_files`).

A SIGKILL cannot be aimed at a few milliseconds inside a save, so the kill is simulated: an exception no
code catches (`Killed`, a BaseException) raised at the moment named by each case, after which the work
folder is exactly what the killed process left. The same training then resumes and must end with the
weights of a training that was never interrupted."""
import itertools
from pathlib import Path

import pytest
import torch
from mmengine.runner import Runner

from benchmarks.data.datasets import EmbeddedDataset
from benchmarks.data.synthetic import SyntheticSpec
from benchmarks.engine import checkpoint_files
from benchmarks.engine.runner import train_method

BUDGET = dict(epochs=3, batch_size=8, optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
              schedule=dict(type='cosine'), log_interval=1, checkpoint_interval=1)
STUDENT = dict(arch='resnet18', width=0.125)


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the training catches it."""


@pytest.fixture
def data(tmp_path):
    spec = SyntheticSpec(num_classes=2, train_per_class=8, val_per_class=1, image_size=32)
    return EmbeddedDataset('train', spec, ('mocov2', 'mocov2'), 0, tmp_path / 'data')


_RUNS = itertools.count()


def _train(data, work, resume=False):
    # a name per call: mmengine keys its message hub and logger by the experiment name (plus a timestamp in
    # seconds), and these trainings follow each other within a second
    return train_method('moco_v3', {}, STUDENT, None, data, BUDGET, work, seed=0, device='cpu', resume=resume,
                        desc=f'checkpoint-files-{next(_RUNS)}')


def _weights(result):
    return {k: v.clone() for k, v in result.method.state_dict().items()}


def _kill_inside_the_save(monkeypatch, epoch):
    """Killed while the checkpoint of ``epoch`` is being written: half of the file is on disk."""
    original = Runner.save_checkpoint

    def save(self, out_dir, filename, *args, **kwargs):
        if self.epoch + 1 == epoch:   # mmengine saves after the epoch, before counting it
            Path(out_dir, filename).write_bytes(b'PK\x03\x04 half a checkpoint')
            raise Killed
        return original(self, out_dir, filename, *args, **kwargs)
    monkeypatch.setattr(Runner, 'save_checkpoint', save)


def _kill_before_the_pointer(monkeypatch, epoch):
    """Killed after the checkpoint of ``epoch`` is complete, before ``last_checkpoint`` names it."""
    original = checkpoint_files.write_bytes

    def write(path, data):
        if path.name == 'last_checkpoint' and data.decode().endswith(f'epoch_{epoch}.pth'):
            raise Killed
        return original(path, data)
    monkeypatch.setattr(checkpoint_files, 'write_bytes', write)


@pytest.mark.parametrize('kill', [_kill_inside_the_save, _kill_before_the_pointer])
def test_a_kill_while_saving_an_epoch_checkpoint_resumes_to_the_uninterrupted_weights(kill, data, tmp_path, monkeypatch,
                                                                                     cache_dir):
    reference = _weights(_train(data, tmp_path / 'reference'))
    work = tmp_path / 'killed'
    with monkeypatch.context() as m:
        kill(m, epoch=2)
        with pytest.raises(Killed):
            _train(data, work)
    # what the killed process left: epoch 1's checkpoint, still named by last_checkpoint
    assert (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    assert (work / 'epoch_1.pth').is_file()
    resumed = _train(data, work, resume=True)
    assert resumed.iterations == 6
    weights = _weights(resumed)
    assert weights.keys() == reference.keys()
    assert all(torch.equal(weights[k], reference[k]) for k in reference)
    # one checkpoint kept, no temporaries left behind
    assert sorted(p.name for p in work.glob('*epoch_*')) == ['epoch_3.pth']
    assert (work / 'last_checkpoint').read_text().endswith('epoch_3.pth')
