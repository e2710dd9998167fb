"""mmprune's core: knows torch and Torch-Pruning, not the runner."""
