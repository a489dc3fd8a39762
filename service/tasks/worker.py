"""What `groupbuy worker` loads: the broker and every actor module (service.tasks.registry)."""

from service.tasks import registry

registry.install()
