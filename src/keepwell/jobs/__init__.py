"""Background jobs (issue 15): one Huey queue built from the settings, the tasks that call
services, and the periodic ones, registered in one place (`keepwell.jobs.periodic`)."""
