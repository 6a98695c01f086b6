"""What every layer shares: workflow and activity inputs and results, workflow ids and names,
search attributes, refusal codes and statuses. It imports nothing of Parley's but `domain`."""
