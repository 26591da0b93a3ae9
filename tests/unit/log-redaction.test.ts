import { Writable } from 'node:stream';
import pino from 'pino';
import { logRedaction } from '../../src/internal/logger';

function loggerWithLines(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: pino({ level: 'info', ...logRedaction }, sink), lines };
}

describe('log redaction', () => {
  it('when a logged object carries secrets at the top or one level down, then the line shows none of them', () => {
    const { logger, lines } = loggerWithLines();
    logger.info(
      {
        token: 'top-level-token-value',
        body: { email: 'a@example.com', password: 'body-password-value', client_secret: 'secret-value' },
        headers: { Authorization: 'Bearer header-token-value', 'content-type': 'application/json' },
        count: 3,
      },
      'something happened',
    );
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      token: '[redacted]',
      body: { email: 'a@example.com', password: '[redacted]', client_secret: '[redacted]' },
      headers: { Authorization: '[redacted]', 'content-type': 'application/json' },
      count: 3,
    });
    for (const secret of [
      'top-level-token-value',
      'body-password-value',
      'secret-value',
      'header-token-value',
    ])
      expect(lines[0]).not.toContain(secret);
  });

  it('when an error carries a secret field, then the logged error shows its message and stack but not the secret', () => {
    const { logger, lines } = loggerWithLines();
    const error = Object.assign(new Error('request body could not be parsed'), {
      password: 'error-password-value',
      status: 400,
    });
    logger.error({ err: error }, 'failed');
    const line = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({
      message: 'request body could not be parsed',
      password: '[redacted]',
      status: 400,
    });
    expect(line.err.stack).toEqual(expect.stringContaining('request body could not be parsed'));
    expect(lines[0]).not.toContain('error-password-value');
  });

  it('when nothing secret is logged, then the object is written as given', () => {
    const { logger, lines } = loggerWithLines();
    const logged = { user: { id: 'u-1', name: 'Ada' }, tags: ['a', 'b'] };
    logger.info(logged, 'plain');
    expect(JSON.parse(lines[0]!)).toMatchObject(logged);
    expect(logged.user).toEqual({ id: 'u-1', name: 'Ada' });
  });
});
