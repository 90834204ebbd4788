# Cluster classification (ClusterFit; CompRess kmeans.py/train_kmeans.py, research/methods.md §1.6):
# faiss k-means (20 iterations) on L2-normalised teacher backbone features of the centre crops.
# num_clusters=None -> round(N / images_per_cluster): 16k on ImageNet (ClusterFit's best), 62 on the
# embedded 5,000 images; CompRess's kmeans.py default is num_clusters=2000.
method = dict(type='cc', num_clusters=None, images_per_cluster=80, kmeans_iters=20, teacher_feature='backbone')
