"""The eqviz app, its render worker, the equivariance metrics and the video exporter."""
