"""Model zoo: ``create_model(name)`` returns a seeded, randomly initialised model in eval mode."""

from edgevid.models.registry import (  # noqa: F401
    ARCH_CLASSES,
    Accuracy,
    ModelSpec,
    create_model,
    get_spec,
    list_models,
    register_model,
)
