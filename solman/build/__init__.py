"""Build and publish: the pipeline, stamps, the manifest, atomic publishing, watching."""
