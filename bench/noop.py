from temporalio import activity


@activity.defn(name="noop")
async def noop(step: int) -> int:
    """Does nothing: the baseline that measures the engine alone."""
    return step
