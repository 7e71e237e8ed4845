/**
 * What `/readyz` checks. Each check is a function so the answer is computed
 * at request time; a check that throws counts as failed with its message.
 */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /** One line per failed check, for the operator reading the 503 body. */
  reasons: string[];
}

export type ReadinessChecks = Record<string, () => true | string>;

export function evaluate(checks: ReadinessChecks): Readiness {
  const result: Readiness = { ready: true, checks: {}, reasons: [] };
  for (const [name, check] of Object.entries(checks)) {
    let outcome: true | string;
    try {
      outcome = check();
    } catch (err) {
      outcome = err instanceof Error ? err.message : String(err);
    }
    result.checks[name] = outcome === true;
    if (outcome !== true) {
      result.ready = false;
      result.reasons.push(`${name}: ${outcome}`);
    }
  }
  return result;
}

export interface AppProbe {
  /** First sync done and state rebuilt. */
  synced(): boolean;
  stopping(): boolean;
  /** A cheap query; throws when the database is closed or broken. */
  probeStore(): void;
  /** Agents in the current registry (it was valid when loaded). */
  registryAgents(): number;
}

/** The bot's checks: synced with the homeserver, store open, registry loaded. */
export function appReadiness(probe: AppProbe): Readiness {
  return evaluate({
    running: () => !probe.stopping() || "shutting down",
    synced: () => probe.synced() || "first sync with the homeserver not finished",
    store: () => {
      probe.probeStore();
      return true;
    },
    registry: () => probe.registryAgents() >= 0 || "registry not loaded",
  });
}
