"""The torch side that makes a trained network: models, neurons, datasets, the training loop.

``models/`` (LeNet, Spiking ResNets, Spikformer, their ANN twins; one registry),
``neurons`` (LIF and ASNN layers, surrogates) with ``neuron_kernels`` (their Numba time
loops), ``data`` (digits, Fashion-MNIST, MNIST, CIFAR), ``train`` (``TrainConfig``, run
folders, resume) and ``ddp`` (data-parallel training under torchrun).
"""
