"""DeKA-g testbed trainers: the world, the models, MAKD and CALA (PyTorch), exported to ONNX."""
import os

# torch runs its own intra-op thread pool; OpenBLAS threads nested inside it only oversubscribe the cores
# (measured here: a small transformer step went from 1 s to 65 ms with this set).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
