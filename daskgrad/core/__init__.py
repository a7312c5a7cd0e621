"""Arrays only (NumPy and dask, no xarray): stencils, kernel, plan, eager path, graph,
operators, earth."""
