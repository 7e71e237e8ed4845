/** `{base_url}/agent_ws/` with http→ws and https→wss; ws/wss base URLs pass through. */
export function agentWsUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new Error(`agent base_url must be http(s) or ws(s): ${baseUrl}`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/agent_ws/`;
  url.search = "";
  url.hash = "";
  return url.toString();
}
