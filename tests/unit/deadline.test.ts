import { clientBoundMs, deadlineIn, serverBoundsMs } from '../../src/utils/deadline';

describe('request deadline arithmetic', () => {
  it('when time passes, then what is left shrinks with it and stops at 0', () => {
    let now = 1000;
    const deadline = deadlineIn(5000, () => now);
    expect(deadline.remainingMs()).toBe(5000);
    now += 1200;
    expect(deadline.remainingMs()).toBe(3800);
    now += 10_000;
    expect(deadline.remainingMs()).toBe(0);
  });

  it('when a statement is sent, then the client waits for what is left, or its usual bound if sooner, and never 0 (no bound)', () => {
    expect(clientBoundMs(3800, 6000)).toBe(3800);
    expect(clientBoundMs(3800.2, 6000)).toBe(3801);
    expect(clientBoundMs(9000, 6000)).toBe(6000);
    expect(clientBoundMs(0.3, 6000)).toBe(1);
  });

  it('when a transaction opens, then the server gives up a margin before the deadline, on a lock a twentieth sooner still, and on an idle client only past the deadline', () => {
    expect(serverBoundsMs(5000, 1000)).toEqual({ statementMs: 4000, lockMs: 3800, idleMs: 5000 });
    expect(serverBoundsMs(2999.6, 1000)).toEqual({ statementMs: 1999, lockMs: 1899, idleMs: 3000 });
  });

  it('when the connection has a shorter statement timeout of its own, then the transaction keeps it', () => {
    expect(serverBoundsMs(5000, 1000, 2000)).toEqual({ statementMs: 2000, lockMs: 1900, idleMs: 5000 });
    expect(serverBoundsMs(5000, 1000, 30_000)).toMatchObject({ statementMs: 4000 });
  });

  it('when little is left, then the margin takes at most half of it, so the server still gets a bound', () => {
    expect(serverBoundsMs(1200, 1000)).toMatchObject({ statementMs: 600, lockMs: 570 });
    expect(serverBoundsMs(1, 1000)).toEqual({ statementMs: 1, lockMs: 1, idleMs: 1 });
  });

  it('when the margin is not positive (query timeout not above the statement timeout), then the server gets all that is left', () => {
    expect(serverBoundsMs(3000, 0)).toMatchObject({ statementMs: 3000, lockMs: 2850 });
    expect(serverBoundsMs(3000, -500)).toMatchObject({ statementMs: 3000, lockMs: 2850 });
  });
});
