# Evaluation protocol shared by every row of a leaderboard.
evals = dict(
    knn=dict(majority_ks=[1, 20], weighted_k=200, temperature=0.07, tie_break='nearest'),
    flops=dict(sizes=[224]),  # GMACs are reported at the suite's image size and at these sizes
    raw_pixel_floor=True,     # a kNN row on raw pixels: the floor learned features must beat
    batch_size=256,
)
