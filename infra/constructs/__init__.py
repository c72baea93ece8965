"""One construct per capability; `infra/stacks/service.py` composes them."""
