// What every client script shares: each call recorded under its name, its value in `results` or, when it
// throws, its status, code and message in `errors`, so one failure does not hide the others.

export function reporter() {
    const results = {};
    const errors = {};
    async function step(name, call) {
        try {
            const value = await call();
            results[name] = value === undefined ? null : value;
            return value;
        } catch (error) {
            errors[name] = {
                status: error.status ?? null,
                code: error.code ?? null,
                message: String(error.message ?? error),
                headers: error.headers ?? null,
            };
            return undefined;
        }
    }
    return { results, errors, step };
}
