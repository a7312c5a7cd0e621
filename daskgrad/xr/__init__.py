"""The xarray and geo layer: dims, coordinates, units and names translated for the core."""
