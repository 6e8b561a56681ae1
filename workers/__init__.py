"""arq worker: settings, job decorators and thin jobs."""
