"""The simulated radio mesh: one medium model, driven by a virtual clock
(``relay sim run``) or by the wall clock (the loopback hardware simulator)."""
