/**
 * Wraps the AgentPort so turn metrics come from the one place every turn
 * passes through, without hooks inside the core: a turn starts when
 * `startTurn` is called, its first `text` is the first-text time, and its
 * single terminal event (or a rejected start) ends it.
 */
import { AgentUnavailableError, type AgentPort, type TurnEvent } from "../core/agent-port.js";
import { failureLabel, type Metrics } from "./metrics.js";

export function observeAgentPort(port: AgentPort, metrics: Metrics, now: () => number = performance.now.bind(performance)): AgentPort {
  return {
    ...bindAll(port),
    async startTurn(agentId, request, sink) {
      const agent = agentId as string;
      const started = now();
      let sawText = false;
      let done = false;
      const seconds = (): number => (now() - started) / 1000;
      metrics.turnsStarted.inc({ agent });
      const observed = (event: TurnEvent): void => {
        if (!done) {
          if (event.type === "text" && !sawText) {
            sawText = true;
            metrics.timeToFirstText.observe({ agent }, seconds());
          } else if (event.type === "end") {
            done = true;
            metrics.turnsFinished.inc({ agent });
            metrics.turnDuration.observe({ agent, outcome: "end" }, seconds());
          } else if (event.type === "error") {
            done = true;
            metrics.turnsFailed.inc({ agent, code: failureLabel(event.code) });
            metrics.turnDuration.observe({ agent, outcome: "error" }, seconds());
          }
        }
        sink(event);
      };
      try {
        await port.startTurn(agentId, request, observed);
      } catch (err) {
        if (!done) {
          done = true;
          metrics.turnsFailed.inc({ agent, code: err instanceof AgentUnavailableError ? "unavailable" : "start_failed" });
        }
        throw err;
      }
    },
  };
}

/** The port's methods bound to it, so the spread copy keeps working for pools built as classes. */
function bindAll(port: AgentPort): AgentPort {
  return {
    startTurn: port.startTurn.bind(port),
    cancel: port.cancel.bind(port),
    confirmResult: port.confirmResult.bind(port),
    chatClosed: port.chatClosed.bind(port),
    onNotify: port.onNotify.bind(port),
    status: port.status.bind(port),
    setAgents: port.setAgents.bind(port),
    close: port.close.bind(port),
  };
}
