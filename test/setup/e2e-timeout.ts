// e2e suites talk to a real database and boot the app: the default 5 s is too short on a busy CI box.
jest.setTimeout(60_000);
