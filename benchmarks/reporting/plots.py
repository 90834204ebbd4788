"""Leaderboard figures (matplotlib, Agg backend): accuracy vs cost with its Pareto front, training loss
curves, and training-cost bars. Each figure is written as ``<name>.png`` (150 dpi) and ``<name>.svg``.

Figures are drawn at a fixed size with constrained layout (no ``bbox_inches='tight'``), so a PNG's pixel
size is ``FIGSIZE * DPI`` and predictable; legends sit outside the axes. Rows without the fields a figure
needs are skipped, and a figure with nothing to show is not written (no empty files). Failed rows
(``status`` != 'ok') are never plotted.

Point labels are placed by a small greedy search (`place_labels`): each label tries offsets around its
point, nearest first, and takes the first whose box stays inside the axes without covering another label
or a marker; when none is free it takes the least-covering one, and a thin leader line joins any label
set away from its point.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # files only, never a display; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

DPI = 150
FIGSIZE = (8.0, 5.0)          # inches: 1200 x 750 px at DPI
LABEL_PT = 8                  # smallest font used anywhere
_RC = {'font.size': 9, 'axes.titlesize': 11, 'axes.labelsize': 9, 'legend.fontsize': 8,
       'xtick.labelsize': 8, 'ytick.labelsize': 8, 'svg.fonttype': 'none', 'svg.hashsalt': 'ssl-compress-bench',
       'axes.spines.top': False, 'axes.spines.right': False}
_KNN_TOP1 = re.compile(r'^knn(\d+)(w?)_top1$')


def _num(value) -> float | None:
    """A finite float, or None (missing, NaN, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ok(row) -> bool:
    return row.get('status', 'ok') == 'ok'


def accuracy_metric(rows) -> tuple[str, str] | None:
    """``(field, axis label)`` of the accuracy the cost plots use: ``linear_top1`` when any row has it,
    else the kNN top-1 with the largest k (weighted before majority vote at equal k: the 200-NN weighted
    vote is the InstDisc standard, docs/methods.md#knn); None when neither exists."""
    present = {k for r in rows if _ok(r) for k, v in r.items() if _num(v) is not None}
    if 'linear_top1' in present:
        return 'linear_top1', 'Linear probe top-1 (%)'
    knn = [(int(m.group(1)), m.group(2) == 'w', k) for k in present for m in [_KNN_TOP1.match(k)] if m]
    if not knn:
        return None
    k, weighted, name = max(knn)
    return name, f"{k}-NN {'weighted ' if weighted else ''}top-1 (%)"


def pareto_front(costs, accuracies) -> list[int]:
    """Indices of the Pareto-optimal points (minimise cost, maximise accuracy), sorted by cost.

    A point is dominated when another has cost <= and accuracy >= with at least one strict; identical
    points are all kept. O(n log n): sweep by cost ascending (accuracy descending at equal cost) and keep
    a point when its accuracy reaches the best seen at any strictly lower cost or ties the best at its
    own cost.
    """
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i]))
    front, best_before = [], -math.inf   # best accuracy among strictly cheaper points
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and costs[order[j]] == costs[order[i]]:
            j += 1
        group = order[i:j]
        top = accuracies[group[0]]       # the best at this cost (sorted descending within the group)
        if top > best_before:
            front += [g for g in group if accuracies[g] == top]
        best_before = max(best_before, top)
        i = j
    return front


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _segment_hits(p0, p1, boxes, samples: int = 12) -> int:
    """How many of ``boxes`` the segment ``p0``-``p1`` (display coordinates) passes through (sampled)."""
    pts = [(p0[0] + (p1[0] - p0[0]) * t / samples, p0[1] + (p1[1] - p0[1]) * t / samples)
           for t in range(1, samples)]
    return sum(any(b.contains(x, y) for x, y in pts) for b in boxes)


def _candidates() -> list[tuple[float, float]]:
    """Label offsets in points from the anchor, nearest first; right of the point is preferred slightly
    (labels read left to right from their marker)."""
    out = []
    for dx in (7, 18, 34, 56, 84):
        for dy in range(-42, 43, 7):
            for side in (1, -1):
                out.append((side * dx, dy, math.hypot(dx, dy) + (2.0 if side < 0 else 0.0)))
    out += [(0, dy, abs(dy) + 3.0) for dy in (10, -10, 18, -18)]
    return [(dx, dy) for dx, dy, _ in sorted(out, key=lambda c: c[2])]


def place_labels(ax, points, labels, obstacles=(), fontsize=LABEL_PT, radii=None, lines=()) -> list:
    """Greedy collision-avoiding labels for ``points`` (data coordinates) on ``ax``.

    The figure must be drawn (layout and limits final) before this is called. Each label (in the given
    order, so put the important points first) tries `_candidates` offsets and takes the first whose box
    is inside the axes and overlaps no placed label and no marker; otherwise the one with the least
    overlap. Returns the annotation artists.

    Args:
        points: ``[(x, y)]`` anchors, data coordinates.
        labels: one string per point.
        obstacles: extra ``Bbox`` es (display coordinates) to keep clear.
        radii: marker radius in points per point (default 4.5): the marker box kept clear, and the
            nearest offset tried.
        lines: ``[((x0, y0), (x1, y1))]`` data-coordinate segments labels should not sit on (the floor
            line, the lines joining students of one training).
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0
    axes_box = ax.get_window_extent(renderer)
    anchors = [ax.transData.transform(p) for p in points]
    radii = list(radii) if radii is not None else [4.5] * len(points)
    blocked = [Bbox.from_extents(x - r * px, y - r * px, x + r * px, y + r * px)
               for (x, y), r in zip(anchors, radii)]
    blocked += list(obstacles)
    placed, leaders, artists = [], [], []
    drawn = [(ax.transData.transform(a), ax.transData.transform(b)) for a, b in lines]
    for (x, y), (ax_x, ax_y), text, radius in zip(points, anchors, labels, radii):
        probe = ax.text(0, 0, text, fontsize=fontsize)
        ext = probe.get_window_extent(renderer)
        probe.remove()
        w, h = ext.width + 2 * px, ext.height + 1 * px
        best = None
        for dx, dy in _candidates():
            if dx and abs(dx) < radius + 2.5:  # clear of a large marker (the teacher's star)
                dx = math.copysign(radius + 2.5, dx)
            cx, cy = ax_x + dx * px, ax_y + dy * px
            x0 = cx if dx > 0 else cx - w if dx < 0 else cx - w / 2
            box = Bbox.from_extents(x0, cy - h / 2, x0 + w, cy + h / 2)
            outside = not (axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and
                           axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1)
            cover = sum(_overlap(box, b) for b in placed + blocked)
            # a leader line must not run through other labels, nor a label over earlier leader lines
            end = (box.x0 if dx > 0 else box.x1 if dx < 0 else cx, cy)
            if math.hypot(dx, dy) > 12:
                cover += 200.0 * _segment_hits((ax_x, ax_y), end, placed)
            cover += 200.0 * sum(_segment_hits(a, b, [box]) for a, b in leaders)
            cover += 50.0 * sum(_segment_hits(a, b, [box], samples=40) for a, b in drawn)
            score = cover + (1e9 if outside else 0.0)
            if best is None or score < best[0]:
                best = (score, dx, dy, box, end)
            if score == 0:
                break
        _, dx, dy, box, end = best
        placed.append(box)
        far = math.hypot(dx, dy) > 12
        if far:
            leaders.append(((ax_x, ax_y), end))
        artists.append(ax.annotate(
            text, (x, y), xytext=(dx, dy), textcoords='offset points', fontsize=fontsize, va='center',
            ha='left' if dx > 0 else 'right' if dx < 0 else 'center', annotation_clip=False,
            arrowprops=dict(arrowstyle='-', lw=0.5, color='0.45', shrinkA=0, shrinkB=3) if far else None))
    return artists


def _save(fig, out_dir: Path, name: str) -> list[Path]:
    """Write ``name.png`` (DPI) and ``name.svg`` atomically (temporary name, then rename); close ``fig``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ('png', 'svg'):
        path = out_dir / f'{name}.{ext}'
        tmp = out_dir / f'.{name}.{os.getpid()}.{ext}'
        fig.savefig(tmp, format=ext, dpi=DPI)
        os.replace(tmp, path)
        paths.append(path)
    plt.close(fig)
    return paths


def _run_suffix(row) -> str:
    return f" [{row['run']}]" if row.get('run') else ''


_RUN_LABEL = re.compile(r'^(.*) \[([^\]]+)\]$')


def _join_names(names) -> str:
    """One label for coinciding points: ``'reg [a]', 'reg [b]'`` -> ``'reg [a, b]'``; else comma-joined."""
    parts = [_RUN_LABEL.match(n) for n in names]
    if len(names) > 1 and all(parts) and len({m.group(1) for m in parts}) == 1:
        return f"{parts[0].group(1)} [{', '.join(m.group(2) for m in parts)}]"
    return ', '.join(names)


COST_AXES = {
    'gmacs': ('GMACs per image{size} (log scale)', 'Accuracy vs. compute', 'accuracy_vs_gmacs'),
    'params_m': ('Parameters (M, log scale)', 'Accuracy vs. model size', 'accuracy_vs_params'),
    # benchmarks/reporting/cost.py: the method's training + its teacher's (SlimCLR: one training over its widths)
    'pretrain_s': ('Pre-training wall time, teacher included (s, log scale)', 'Accuracy vs. pre-training cost',
                   'accuracy_vs_pretrain_cost'),
}


def plot_accuracy_vs_cost(rows, cost_field: str, out_dir, metric=None) -> list[Path]:
    """Accuracy vs ``cost_field`` ('gmacs' or 'params_m'), x on a log scale; returns the written paths.

    One point per method row with both values (a SlimCLR width is its own point, the widths of one
    training joined by a dotted line), with its 95 % interval over seeds as an error bar when it has one;
    the teacher as a star; the random-init student and the raw-pixel floor as horizontal lines (references); the Pareto front (`pareto_front` over the method points: most accuracy for the
    least cost) as a step line with its points ringed. Nothing is written without a method point.
    """
    metric = metric or accuracy_metric(rows)
    if metric is None or cost_field not in COST_AXES:
        return []
    acc_field, acc_label = metric
    xlabel, title, name = COST_AXES[cost_field]
    ok = [r for r in rows if _ok(r)]
    plotted = [r for r in ok if _num(r.get(acc_field)) is not None and (_num(r.get(cost_field)) or 0) > 0]
    # rows trained on labels (the supervised reference) are drawn like the teacher: references, off the front
    pts = [r for r in plotted if r.get('kind', 'method') == 'method' and not r.get('uses_labels')]
    if not pts:
        return []
    teachers = [r for r in plotted if r.get('kind') == 'teacher' or (r.get('kind', 'method') == 'method'
                                                                     and r.get('uses_labels'))]
    floors = [r for r in ok if r.get('kind') in ('random_init', 'floor') and _num(r.get(acc_field)) is not None]
    sizes = {r.get('image_size') for r in pts + teachers if r.get('image_size')}
    xlabel = xlabel.format(size=f' at {sizes.pop()} px' if len(sizes) == 1 else '')
    xs = [float(r[cost_field]) for r in pts]
    ys = [float(r[acc_field]) for r in pts]
    front = pareto_front(xs, ys)
    on_front = set(front)

    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout='constrained')
        handles = []
        # several students of one training: a dotted line through them says they come from one run
        groups = {}
        for i, r in enumerate(pts):
            if r.get('shared_training'):
                groups.setdefault((r.get('run'), r.get('method_type'), r.get('train_time_s')), []).append(i)
        segments = []   # drawn lines the point labels keep off
        for members in groups.values():
            if len(members) > 1:
                members = sorted(members, key=lambda i: xs[i])
                ax.plot([xs[i] for i in members], [ys[i] for i in members], ':', color='0.55', lw=1, zorder=1)
                segments += [((xs[a], ys[a]), (xs[b], ys[b])) for a, b in zip(members, members[1:])]
        if any(len(m) > 1 for m in groups.values()):
            handles.append(Line2D([], [], ls=':', color='0.55', label='students of one training'))
        others = [i for i in range(len(pts)) if i not in on_front]
        ax.scatter([xs[i] for i in others], [ys[i] for i in others], s=30, color='#4C72B0', zorder=3)
        handles.append(Line2D([], [], ls='', marker='o', color='#4C72B0', label='method'))
        errs = [_num(r.get(f'{acc_field}_ci95')) or 0.0 for r in pts]
        if any(errs):  # means over seeds: the 95 % interval of each
            ax.errorbar(xs, ys, yerr=errs, fmt='none', ecolor='0.35', elinewidth=0.9, capsize=2.5, zorder=2)
            handles.append(Line2D([], [], ls='-', color='0.35', lw=0.9, label='95 % interval over seeds'))
        fx, fy = [xs[i] for i in front], [ys[i] for i in front]
        ax.plot(fx, fy, drawstyle='steps-post', color='#C44E52', lw=1.3, zorder=2)
        ax.scatter(fx, fy, s=46, color='#C44E52', edgecolor='black', linewidth=0.8, zorder=4)
        handles.append(Line2D([], [], color='#C44E52', marker='o', mec='black', label='Pareto front'))
        for r in teachers:
            labelled = r.get('kind') != 'teacher'
            ax.scatter([r[cost_field]], [r[acc_field]], marker='D' if labelled else '*', s=60 if labelled else 150,
                       color='0.6' if labelled else '#DD8452', edgecolor='black', linewidth=0.6, zorder=4)
            err = _num(r.get(f'{acc_field}_ci95'))
            if err:
                ax.errorbar([r[cost_field]], [r[acc_field]], yerr=[err], fmt='none', ecolor='0.35', elinewidth=0.9,
                            capsize=2.5, zorder=2)
        if any(r.get('kind') == 'teacher' for r in teachers):
            handles.append(Line2D([], [], ls='', marker='*', ms=11, color='#DD8452', mec='black',
                                  label='teacher (reference)'))
        if any(r.get('kind') != 'teacher' for r in teachers):
            handles.append(Line2D([], [], ls='', marker='D', ms=7, color='0.6', mec='black',
                                  label='trained on labels (reference)'))
        floor_styles = ['--', '-.', (0, (1, 1)), (0, (5, 1, 1, 1))]
        for k, r in enumerate(floors):
            ax.axhline(float(r[acc_field]), ls=floor_styles[k % 4], color='0.35', lw=1, zorder=1)
            handles.append(Line2D([], [], ls=floor_styles[k % 4], color='0.35',
                                  label=f"{r.get('method', 'floor')} (floor)"))
        ax.set_xscale('log')
        # 1-2-5 ticks as plain numbers: the default 3x10^-3 minor labels collide on narrow ranges
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f'{v:g}'))
        ax.xaxis.set_minor_formatter(NullFormatter())
        all_x = xs + [float(r[cost_field]) for r in teachers]
        lo, hi = min(all_x), max(all_x)
        pad = max(0.25 * math.log10(hi / lo), 0.3)  # decades of room on each side for labels
        ax.set_xlim(lo / 10 ** pad, hi * 10 ** pad)
        all_y = [y + e for y, e in zip(ys, errs)] + [y - e for y, e in zip(ys, errs)]
        all_y += [float(r[acc_field]) for r in teachers + floors]
        all_y += [float(r[acc_field]) + s * (_num(r.get(f'{acc_field}_ci95')) or 0.0) for r in teachers for s in (1, -1)]
        ylo, yhi = min(all_y), max(all_y)
        ypad = max(0.12 * (yhi - ylo), 1.5)
        ax.set_ylim(ylo - ypad, yhi + ypad)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(acc_label)
        ax.set_title(f'{title}: {acc_label.split(" (")[0]}')
        ax.grid(True, which='major', color='0.9', lw=0.6)
        ax.set_axisbelow(True)
        fig.legend(handles=handles, loc='outside right upper', frameon=False)
        fig.canvas.draw()                 # layout and limits are final now: labels are measured against them
        fig.set_layout_engine('none')     # ...and must stay so, or the placed labels would drift
        # front points choose their label spot first; points that coincide (the same method in two
        # merged runs, equal results) share one label instead of fanning out leader lines
        spots = {}
        for i in front + others:
            spots.setdefault((f'{xs[i]:.6g}', f'{ys[i]:.6g}'), []).append(i)
        for r in teachers:
            spots.setdefault((f'{float(r[cost_field]):.6g}', f'{float(r[acc_field]):.6g}', 'teacher'), []).append(r)
        label_pts, labels, radii = [], [], []
        for key, members in spots.items():
            is_teacher = len(key) == 3
            names = [str(m.get('method', 'teacher')) if is_teacher else str(pts[m].get('method')) for m in members]
            label_pts.append((float(key[0]), float(key[1])))
            labels.append(_join_names(names))
            radii.append(8.0 if is_teacher else 6.0 if members[0] in on_front else 4.5)
        x0, x1 = ax.get_xlim()
        segments += [((x0, float(r[acc_field])), (x1, float(r[acc_field]))) for r in floors]
        place_labels(ax, label_pts, labels, radii=radii, lines=segments)
        return _save(fig, Path(out_dir), name)


def _trainings(rows, field_name=None):
    """One entry per training with ``field_name``: ``(label, representative row, member rows)``.

    Several students of one training (``shared_training``: SlimCLR widths) share its loss curve and its
    cost, so they are one entry, labelled with the common leading words of their names. Rows that
    failed, or lack ``field_name`` (when given), are left out."""
    out, seen = [], {}
    for r in rows:
        if not _ok(r) or (field_name is not None and r.get(field_name) in (None, [], '')):
            continue
        if r.get('shared_training'):
            key = (r.get('run'), r.get('method_type'), r.get('train_time_s'))
            if key in seen:
                seen[key][2].append(r)
                continue
            seen[key] = [None, r, [r]]
            out.append(seen[key])
        else:
            out.append([None, r, [r]])
    for entry in out:
        members = entry[2]
        if len(members) == 1:
            entry[0] = str(members[0].get('method'))
        else:
            names = [str(m.get('method', ''))[:len(str(m.get('method', ''))) - len(_run_suffix(m))].split()
                     for m in members]
            common = []
            for words in zip(*names):
                if len(set(words)) > 1:
                    break
                common.append(words[0])
            base = ' '.join(common) or str(members[0].get('method_type', 'shared'))
            entry[0] = f'{base} ({len(members)} students){_run_suffix(members[0])}'
    return [tuple(e) for e in out]


def _curve(row):
    """``[(iteration, loss)]`` of a row's ``loss_curve`` with the finite points only."""
    pts = []
    for item in row.get('loss_curve') or []:
        try:
            it, loss = item[0], item[1]
        except (TypeError, IndexError, KeyError):
            continue
        if _num(it) is not None and _num(loss) is not None:
            pts.append((float(it), float(loss)))
    return pts


def plot_training_curves(rows, out_dir) -> list[Path]:
    """Training loss (global batch, at the log interval) vs iteration, one line per training; log-y when
    the losses are positive and span more than two decades. Not written without any curve."""
    curves = [(label, _curve(r)) for label, r, _ in _trainings(rows, 'loss_curve')]
    curves = [(label, c) for label, c in curves if c]
    if not curves:
        return []
    losses = [v for _, c in curves for _, v in c]
    log_y = min(losses) > 0 and max(losses) / min(losses) > 100
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout='constrained')
        colors = plt.get_cmap('tab10').colors
        styles = ['-', '--', '-.', ':']
        for k, (label, c) in enumerate(curves):
            ax.plot([p[0] for p in c], [p[1] for p in c], styles[(k // 10) % 4], color=colors[k % 10], lw=1.3,
                    label=label, marker='o' if len(c) == 1 else None, ms=3)
        if log_y:
            ax.set_yscale('log')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel('Iteration (optimizer steps)')
        ax.set_ylabel('Training loss (global batch)' + (', log scale' if log_y else ''))
        ax.set_title('Training loss')
        ax.grid(True, color='0.9', lw=0.6)
        fig.legend(loc='outside right upper', frameon=False)
        return _save(fig, Path(out_dir), 'training_curves')


def _si(value: float, unit: str) -> tuple[float, str]:
    """``(scaled value, prefixed unit)`` for FLOP counts: G, T, P, E."""
    for prefix, scale in (('E', 1e18), ('P', 1e15), ('T', 1e12), ('G', 1e9)):
        if value >= scale:
            return value / scale, prefix + unit
    return value / 1e9, 'G' + unit


def training_flops(group, teacher_row=None) -> tuple[float, float] | None:
    """``(student FLOPs, teacher FLOPs)`` of one training, or None without the fields it needs.

    Student: forward + backward ≈ 3 forward passes (the usual estimate), 2 FLOPs per multiply-add, so
    ``6 · Σ gmacs · 1e9 · images_seen · num_views`` summed over the students of the training (all SlimCLR
    widths run every step). Needs ``gmacs``, ``images_seen`` and ``num_views`` on the rows (bench rows do
    not carry ``num_views`` yet, so the panel is left out for them). Teacher: ``2 · teacher gmacs · 1e9 ·
    teacher_forward_images`` when the row has ``teacher_forward_images`` and the run's teacher row has
    ``gmacs``. Deviation: GMACs are measured at the evaluation image size, taken as the training view size.
    """
    first = group[0]
    images, views = _num(first.get('images_seen')), _num(first.get('num_views'))
    macs = [_num(r.get('gmacs')) for r in group]
    if images is None or views is None or any(m is None for m in macs):
        return None
    student = 6.0 * sum(macs) * 1e9 * images * views
    teacher = 0.0
    forward = _num(first.get('teacher_forward_images'))
    if forward and teacher_row is not None and _num(teacher_row.get('gmacs')) is not None:
        teacher = 2.0 * float(teacher_row['gmacs']) * 1e9 * forward
    return student, teacher


def plot_costs(rows, out_dir) -> list[Path]:
    """Horizontal bars of training cost, one bar per training (the teacher's, hatched, as a reference),
    one panel per quantity: wall time (train + prepare, stacked), images seen, and training compute
    (`training_flops`, student + teacher forward, stacked) when any training has what it needs.
    Panels without data are left out; nothing is written without any panel."""
    entries = []   # (label, is_teacher, {quantity: (part1, part2)})
    teachers = {r.get('run'): r for r in rows if r.get('kind') == 'teacher' and _ok(r)}
    for kind in ('teacher', 'method'):
        subset = [r for r in rows if r.get('kind', 'method') == kind]
        for label, r, members in _trainings(subset):
            values = {}
            train, prep = _num(r.get('train_time_s')), _num(r.get('prepare_time_s'))
            if train is not None or prep is not None:
                values['time'] = (train or 0.0, prep or 0.0)
            if _num(r.get('images_seen')) is not None:
                values['images'] = (float(r['images_seen']), 0.0)
            if kind == 'method':
                flops = training_flops(members, teachers.get(r.get('run')))
                if flops is not None:
                    values['flops'] = flops
            if values:
                entries.append((label + (' (reference)' if kind == 'teacher' else ''), kind == 'teacher', values))
    panels = []
    if any('time' in v for _, _, v in entries):
        panels.append(('time', 'Wall time (s)', 1.0, ('training', 'prepare (before training)')))
    images_max = max((v['images'][0] for _, _, v in entries if 'images' in v), default=None)
    if images_max is not None:
        big = images_max >= 1e7   # ImageNet-scale budgets read better in millions
        panels.append(('images', f"Images seen ({'millions' if big else 'thousands'})", 1e6 if big else 1e3,
                       ('training', None)))
    flop_max = max((sum(v['flops']) for _, _, v in entries if 'flops' in v), default=None)
    if flop_max:
        _, unit = _si(flop_max, 'FLOPs')
        scale = {'G': 1e9, 'T': 1e12, 'P': 1e15, 'E': 1e18}[unit[0]]
        panels.append(('flops', f'Training compute ({unit})', scale, ('training', 'teacher forward')))
    if not panels:
        return []
    n = len(entries)
    height = max(2.6, 1.3 + 0.3 * n)
    # one colour per meaning across panels: training (time, images, student FLOPs), then the second
    # segment of the time panel (prepare) and of the compute panel (teacher forward)
    colors = {'time': ('#4C72B0', '#DD8452'), 'images': ('#4C72B0', None), 'flops': ('#4C72B0', '#55A868')}
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 1.6, height), dpi=DPI,
                                 layout='constrained', sharey=True, squeeze=False)
        axes = axes[0]
        ypos = list(range(n))
        legend = {}
        for ax, (key, xlabel, scale, parts) in zip(axes, panels):
            first_color, second_color = colors[key]
            first = [v[key][0] / scale if key in v else 0.0 for _, _, v in entries]
            second = [v[key][1] / scale if key in v else 0.0 for _, _, v in entries]
            hatch = ['//' if t else None for _, t, _ in entries]
            for i in ypos:
                if key not in entries[i][2]:
                    continue
                ax.barh(i, first[i], color=first_color, hatch=hatch[i], edgecolor='white', lw=0.5, height=0.7)
                if second[i] > 0:
                    ax.barh(i, second[i], left=first[i], color=second_color, hatch=hatch[i], edgecolor='white',
                            lw=0.5, height=0.7)
                total = first[i] + second[i]
                ax.annotate(f'{total:,.3g}' if total < 1000 else f'{total:,.0f}', (total, i),
                            xytext=(3, 0), textcoords='offset points', va='center', fontsize=LABEL_PT)
            legend.setdefault('training', Patch(color=first_color, label='training'))
            if any(second):
                legend[parts[1]] = Patch(color=second_color, label=parts[1])
            top = max(f + s for f, s in zip(first, second)) or 1.0
            ax.set_xlim(0, top * 1.25)   # room for the value labels
            ax.set_xlabel(xlabel)
            ax.set_title(xlabel.split(' (')[0])
            ax.grid(True, axis='x', color='0.9', lw=0.6)
            ax.set_axisbelow(True)
        axes[0].set_yticks(ypos, [label for label, _, _ in entries])
        axes[0].invert_yaxis()           # table order, top to bottom
        if any(t for _, t, _ in entries):
            legend['teacher'] = Patch(facecolor='white', edgecolor='0.3', hatch='//', label='teacher (reference)')
        fig.suptitle('Training cost per method', fontsize=11)
        fig.legend(handles=list(legend.values()), loc='outside lower center', ncols=min(len(legend), 4),
                   frameon=False)
        return _save(fig, Path(out_dir), 'training_cost')


def write_plots(rows, out_dir) -> list[Path]:
    """Every figure that ``rows`` can fill, into ``out_dir`` (PNG + SVG each); returns the paths.

    Rows of several seeds are aggregated first (`benchmarks.reporting.aggregate`): a point is the mean
    over seeds with its 95 % interval as an error bar; a training curve is the first seed's."""
    from benchmarks.reporting.aggregate import aggregate
    from benchmarks.reporting.cost import with_teacher_cost
    rows = aggregate(with_teacher_cost(rows))
    out_dir = Path(out_dir)
    metric = accuracy_metric(rows)
    paths = []
    for cost in COST_AXES:
        paths += plot_accuracy_vs_cost(rows, cost, out_dir, metric)
    paths += plot_training_curves(rows, out_dir)
    paths += plot_costs(rows, out_dir)
    return paths
