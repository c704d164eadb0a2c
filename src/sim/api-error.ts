/** An error Pulumi Cloud would answer with: an HTTP status and a `{code, message}` JSON body. */
export class ApiError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers;
  }

  toResponse(): Response {
    return new Response(JSON.stringify({ code: this.status, message: this.message }), {
      status: this.status,
      headers: { "content-type": "application/json", ...this.headers },
    });
  }
}

export const unauthorized = (): ApiError =>
  new ApiError(401, "Unauthorized: No credentials provided or are invalid.");

export const orgNotFound = (org: string): ApiError => new ApiError(404, `Organization '${org}' not found`);

export const stackNotFound = (org: string, project: string, stack: string): ApiError =>
  new ApiError(404, `Stack '${org}/${project}/${stack}' not found`);
