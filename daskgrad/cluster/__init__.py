"""The dask cluster: connection with deadlines, the embedded LocalCluster, the memory rule."""
