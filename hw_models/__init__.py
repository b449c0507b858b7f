"""Hardware energy models for spiking and conventional networks."""
