"""From a model to suggestions: the fused predictor, the state cache, experts, the suggestion policy, the engine."""
