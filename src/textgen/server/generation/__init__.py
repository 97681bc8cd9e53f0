"""From a validated request to a response: model resolution, sampling defaults, prompts,
safety, screened generation, embeddings and response building."""
