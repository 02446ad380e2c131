"""The eqviz desktop app (Dear PyGui): panels edit a state, a worker thread renders it."""
