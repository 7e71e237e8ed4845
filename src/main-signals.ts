/** Stops cleanly on SIGTERM/SIGINT; a second signal or a stuck stop exits anyway. */
export function onSignals(stop: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`surfaces: ${signal} received, stopping\n`);
    setTimeout(() => process.exit(1), graceMs).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

