"""prefect-modelscope: retrying Prefect tasks for every ModelScope Hub operation."""
