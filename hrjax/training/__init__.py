"""Training: train state and step, device mesh, processes, checkpoints, TensorBoard, the loop."""
