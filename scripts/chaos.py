"""Kill tools/bench.py with SIGKILL at many random moments, rerun it until it finishes, and compare its
leaderboard with an uninterrupted run's: the proof that a kill anywhere loses nothing.

    python scripts/chaos.py [--kills 24] [--seed 0] [--out results/reference/crash-safety/chaos.json]

A small suite with every stage (data generation, teacher training with epoch checkpoints, the teacher's
evaluation, cc's k-means `prepare`, training, evaluation, the detection subprocess, the report) runs
once uninterrupted (its own cache), recording when each stage starts (the lines of ``<run>/bench.log``
and the detection child process). Then episodes: each starts from an empty cache and run folder and
walks through the stages in run order, killing one launch per stage (the whole process group, as a
closed terminal or a lost node would) at a random moment of it — drawn with the seed as a fraction of
that stage's duration in the uninterrupted run — then launching again, until the run finishes. A kill
that lands after its stage ended is counted under the stage it hit. Episodes repeat until ``--kills``
kills are done. Each episode's rows must equal the uninterrupted run's in every value that is not a
timing: accuracies, retrieval, CA, detection AP, parameters, GMACs, images seen and the loss curves.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ('data', 'teacher training', 'prepare', 'training', 'evaluation', 'detection', 'report')


def suite_file(folder: Path) -> Path:
    """The default suite with test-sized detection (two iterations on 8 images)."""
    from benchmarks.config import CONFIG_DIR
    from tests.helpers.detection import TINY
    det = dict(options=TINY, embedded=dict(train_images=8, val_images=4, image_size=64))
    path = folder / 'chaos_suite.py'
    path.write_text(f"_base_ = ['{CONFIG_DIR / 'suites' / 'default.py'}']\nevals = dict(detection={det!r})\n")
    return path


def command(suite: Path, work: Path) -> list[str]:
    from tests.helpers.bench import BASE_OPTS
    opts = [o for o in BASE_OPTS if not o.startswith('evals.suites')]
    return [sys.executable, str(ROOT / 'tools' / 'bench.py'), '--config', str(suite), '--work-dir', str(work),
            '--methods', 'compress_2q,cc', '--cfg-options', *opts,
            'evals.suites=[knn,linear,retrieval,ca,flops,detection]', 'budget.epochs=2', 'budget.checkpoint_interval=1',
            'teacher.train.epochs=3', 'teacher.train.checkpoint_interval=1', 'method_cfgs.compress_2q.bank_size=64',
            # 1,000 training images: long enough a k-means `prepare` and teacher training to be hit
            'data.train_per_class=100', 'method_cfgs.cc.kmeans_iters=200']


def classify(line: str) -> tuple[str, str] | None:
    """(stage, what) that a bench.log message starts, or None."""
    msg = line[20:] if line[:4].isdigit() else line
    if msg.startswith('data: '):
        return 'data', ''
    if msg.startswith(('teacher: training', 'teacher: resuming')):
        return 'teacher training', ''
    if msg.startswith('report: '):
        return 'report', ''
    if msg.startswith('['):
        name, _, rest = msg[1:].partition('] ')
        for word, stage in (('preparing', 'prepare'), ('training', 'training'), ('evaluating', 'evaluation')):
            if rest.startswith(word):
                return stage, name
    return None


def detection_child(pid: int) -> bool:
    """Whether a detection worker runs in the process group ``pid``."""
    for proc in Path('/proc').iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pid:
                continue
            if b'detection_worker' in (proc / 'cmdline').read_bytes():
                return True
        except (OSError, ProcessLookupError):
            continue
    return False


class Watch:
    """A running tools/bench.py: its stage now and the stage occurrences seen so far."""

    def __init__(self, cmd, env, log_path: Path, out):
        self.log_path, self.offset = log_path, log_path.stat().st_size if log_path.is_file() else 0
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.start = time.perf_counter()
        self.current, self.label, self.events = None, '', []   # events: (seconds, stage, label)
        self._det_checked = 0.0

    def poll(self) -> None:
        if self.log_path.is_file():
            with open(self.log_path, 'rb') as fh:
                fh.seek(self.offset)
                data = fh.read()
            cut = data.rfind(b'\n') + 1
            self.offset += cut
            for raw in data[:cut].decode(errors='replace').splitlines():
                found = classify(raw)
                if found:
                    self.current, self.label = found
                    self.events.append((time.perf_counter() - self.start, *found))
        now = time.perf_counter()
        if now - self._det_checked < 0.2:   # scanning /proc costs CPU the run needs
            return
        self._det_checked = now
        in_det = self.proc.poll() is None and detection_child(self.proc.pid)
        if in_det and self.current != 'detection':
            self.events.append((time.perf_counter() - self.start, 'detection', self.label))
            self.current = 'detection'
        elif not in_det and self.current == 'detection':
            self.current = 'evaluation'

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def timeline(events, end: float) -> list[dict]:
    """Stage occurrences with their durations: [{stage, label, start, duration}]."""
    out = []
    for i, (t, stage, label) in enumerate(events):
        nxt = events[i + 1][0] if i + 1 < len(events) else end
        out.append(dict(stage=stage, label=label, start=round(t, 2), duration=round(max(nxt - t, 0.0), 2)))
    return out


# the stages an episode kills, in run order (the detection of each network follows its evaluation)
EPISODE = ('data', 'teacher training', 'evaluation', 'training', 'evaluation', 'detection', 'prepare', 'training',
           'detection', 'data', 'report')


def first_durations(occurrences: list[dict]) -> dict:
    """The duration of each stage kind's first occurrence in the uninterrupted run."""
    out = {}
    for occ in occurrences:
        out.setdefault(occ['stage'], occ['duration'])
    return out


def episode(cmd, env, log_path: Path, out, durations: dict, rng: random.Random, budget: int) -> tuple[list, int]:
    """Kill one launch per stage of `EPISODE` (at most ``budget`` kills), then run to the end."""
    kills, launches = [], 0
    for kind in EPISODE[:budget]:
        launches += 1
        w = Watch(cmd, env, log_path, out)
        delay = rng.uniform(0.0, 0.8) * durations.get(kind, 1.0)
        reached_at = None
        while w.proc.poll() is None:
            w.poll()
            if reached_at is None and w.current == kind:
                reached_at = time.perf_counter()
            if reached_at is not None and time.perf_counter() - reached_at >= delay:
                stage = w.current
                w.kill()
                kills.append(dict(target=kind, hit=stage, label=w.label, after_s=round(time.perf_counter() - w.start, 2)))
                print(f'kill {len(kills)}: {kills[-1]}', file=sys.stderr)
                break
            time.sleep(0.01)
        else:  # the run finished before reaching the stage (it was done already): the episode is over
            if w.proc.returncode != 0:
                raise RuntimeError(f'a relaunch after a kill exited with {w.proc.returncode} (see chaos.out)')
            return kills, launches
    launches += 1
    run_to_end(cmd, env, log_path, out)
    return kills, launches


def run_to_end(cmd, env, log_path, out, timeout=1800) -> Watch:
    w = Watch(cmd, env, log_path, out)
    while w.proc.poll() is None:
        w.poll()
        if time.perf_counter() - w.start > timeout:
            w.kill()
            raise RuntimeError('the run did not finish')
        time.sleep(0.05)
    w.poll()
    if w.proc.returncode != 0:
        raise RuntimeError(f'the run exited with {w.proc.returncode}')
    return w


def comparable(rows_path: Path) -> dict:
    """Every non-timing value of every row (scripts/compare_rows.py's metrics + loss curves, images seen)."""
    sys.path.insert(0, str(ROOT / 'scripts'))
    from compare_rows import metrics
    out = {}
    for r in json.loads(rows_path.read_text()):
        key = f"{r['method']} (seed {r.get('seed')})"
        out[key] = dict(metrics(r), status=r.get('status'), final_loss=r.get('final_loss'),
                        loss_curve=r.get('loss_curve'), images_seen=r.get('images_seen'))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--kills', type=int, default=24)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default=str(ROOT / 'results/reference/crash-safety/chaos.json'))
    p.add_argument('--keep', default=None, help='keep the run folders and caches here (default: a temporary folder)')
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        suite = suite_file(base)
        env = dict(os.environ, OMP_NUM_THREADS='1', SSLCB_CACHE=str(base / 'cache_reference'))
        ref_work = base / 'reference'
        with open(base / 'reference.out', 'wb') as out:
            ref = run_to_end(command(suite, ref_work), env, ref_work / 'bench.log', out)
        ref_time = time.perf_counter() - ref.start
        occurrences = timeline(ref.events, ref_time)

        durations = first_durations(occurrences)
        print(f'uninterrupted run: {ref_time:.0f}s, stage durations {durations}', file=sys.stderr)
        reference = comparable(ref_work / 'rows.json')
        kills, launches, episodes = [], 0, []
        with open(base / 'chaos.out', 'wb') as out:
            while len(kills) < args.kills:
                n = len(episodes)
                work = base / f'chaos{n}'
                ep_env = dict(env, SSLCB_CACHE=str(base / f'cache_chaos{n}'))
                done, ran = episode(command(suite, work), ep_env, work / 'bench.log', out, durations, rng,
                                    args.kills - len(kills))
                kills += done
                launches += ran
                rows = comparable(work / 'rows.json')
                differences = [f'{row}: {k} {reference.get(row, {}).get(k)!r} -> {rows.get(row, {}).get(k)!r}'
                               for row in sorted(set(reference) | set(rows))
                               for k in sorted(set(reference.get(row, {})) | set(rows.get(row, {})))
                               if reference.get(row, {}).get(k) != rows.get(row, {}).get(k)]
                episodes.append(dict(kills=len(done), launches=ran, identical=not differences,
                                     differences=differences[:10]))
                print(f'episode {n}: {len(done)} kills, {ran} launches, rows identical: {not differences}',
                      file=sys.stderr)
        values = sum(len(v) for v in reference.values())
    hits = Counter(k['hit'] for k in kills if k['hit'])
    identical = all(e['identical'] for e in episodes)
    result = dict(script='scripts/chaos.py', seed=args.seed, kills_done=len(kills), launches=launches,
                  episodes=episodes, stages_hit={s: hits.get(s, 0) for s in STAGES}, uninterrupted_s=round(ref_time, 1),
                  total_s=round(time.perf_counter() - start, 1), rows=len(reference), values_compared_per_episode=values,
                  identical=identical, kills=kills, timeline=occurrences)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + '\n')
    print(f"{result['kills_done']} kills ({result['stages_hit']}) in {len(episodes)} episodes, {launches} launches; "
          f"rows identical in every episode: {identical} ({values} values each); wrote {out}", file=sys.stderr)
    return 0 if identical else 1


if __name__ == '__main__':
    sys.exit(main())
