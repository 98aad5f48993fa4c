// How requests leave the client. The mini-program has wx.request; Node and browsers have
// fetch. Both adapters answer with the status, lower-cased headers and the body as text.

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Sends one request; rejects only when no answer came (network down, timeout). */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

export function fetchTransport(fetchImpl: typeof fetch = globalThis.fetch): Transport {
  return async ({ method, url, headers, body }) => {
    const response = await fetchImpl(url, { method, headers, body });
    const names: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      names[name.toLowerCase()] = value;
    });
    return { status: response.status, headers: names, body: await response.text() };
  };
}

/** The part of the mini-program's `wx` this client uses. */
export interface WxLike {
  request(options: {
    url: string;
    method: string;
    header: Record<string, string>;
    data?: string;
    dataType: string;
    responseType: "text";
    timeout?: number;
    success(result: { statusCode: number; header: Record<string, string>; data: unknown }): void;
    fail(error: { errMsg: string }): void;
  }): void;
}

/** wx.request as a transport. The body goes as text and comes back as text (dataType
 * "text"), so the client parses JSON and problem documents itself. */
export function wxTransport(wx: WxLike, timeoutMs = 15000): Transport {
  return ({ method, url, headers, body }) =>
    new Promise((resolve, reject) => {
      wx.request({
        url,
        method,
        header: headers,
        data: body,
        dataType: "text",
        responseType: "text",
        timeout: timeoutMs,
        success: (result) => {
          const names: Record<string, string> = {};
          for (const [name, value] of Object.entries(result.header ?? {})) names[name.toLowerCase()] = String(value);
          const text = typeof result.data === "string" ? result.data : JSON.stringify(result.data ?? "");
          resolve({ status: result.statusCode, headers: names, body: text });
        },
        fail: (error) => reject(new Error(error.errMsg)),
      });
    });
}
