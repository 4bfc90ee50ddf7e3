"""Ready-made experiments behind the command line (`mlpgradientflow run`)."""
