// The preference center in a real browser (t/222-preference-center.t runs
// it): Playwright's core drives the system's chromium (no browser
// download).  It opens the page as a visitor would and prints what it saw
// as one JSON object; the suite judges it and checks the database.
//
//   PC_URL        the page's link for the profile (…?c=…&p=…#t=…)
//   PC_EXPIRED, PC_TAMPERED, PC_OTHER   the same page with an expired
//                 token, an altered one, another profile's id
//   PC_CHOSEN     the page as the GET of a one-click URL opens it (&f=)
//   PC_ASKED_OPTIN, PC_ASKED_CONSENT   the page as a refusal at the edge
//                 opens it (&optin=, &consent=: docs/edge.md)
//   PC_SHOTS      where screenshots go
//   CHROMIUM      the browser (default /usr/bin/chromium)
//
// Every wait is for something the page shows, with generous timeouts: a
// loaded two-core machine is slow, and nothing here sleeps.
import { chromium } from 'playwright-core';

const TIMEOUT = 60000;
const env = process.env;
const seen = {};

const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: TIMEOUT,
});

async function open(context, url) {
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(url, { timeout: TIMEOUT });
    await page.waitForSelector('main[aria-busy="false"]', { timeout: TIMEOUT });
    return page;
}

async function view(page) {
    return page.evaluate(() => ({
        lang: document.documentElement.lang,
        title: document.getElementById('title').textContent,
        error: document.getElementById('error').hidden ? null
               : document.getElementById('error').textContent,
        form: !document.getElementById('form').hidden,
        legends: [...document.querySelectorAll('legend')].map((e) => e.textContent),
        labels: Object.fromEntries([...document.querySelectorAll('.filter input[type=checkbox]')]
            .map((e) => [e.id, { checked: e.checked,
                                 label: document.querySelector(`label[for="${e.id}"]`).textContent }])),
        frequencies: Object.fromEntries([...document.querySelectorAll('select')]
            .map((e) => [e.id, e.value])),
        save: document.getElementById('save').textContent,
    }));
}

try {
    // a Swiss German browser: German labels, then a change saved
    const de = await browser.newContext({ locale: 'de-CH', viewport: { width: 900, height: 1400 } });
    let page = await open(de, env.PC_URL);
    seen.de = await view(page);
    await page.screenshot({ path: `${env.PC_SHOTS}/preference-center-de-DE.png`, fullPage: true });

    await page.uncheck('#filter-ProductUpdatesEmail');
    await page.selectOption('#filter-NewsletterEmail-freq', 'M');
    await page.click('#save');
    await page.waitForFunction(() => /Auswahl wurde gespeichert/.test(document.getElementById('status').textContent)
                                     || !document.getElementById('error').hidden,
                               null, { timeout: TIMEOUT });
    seen.saved = await page.evaluate(() => ({
        status: document.getElementById('status').textContent,
        error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
    }));

    await page.reload({ timeout: TIMEOUT });
    await page.waitForSelector('main[aria-busy="false"]', { timeout: TIMEOUT });
    seen.reloaded = await view(page);

    for (const [name, url] of [['tampered', env.PC_TAMPERED], ['expired', env.PC_EXPIRED],
                               ['other', env.PC_OTHER]]) {
        const p = await open(de, url);
        seen[name] = await view(p);
        await p.close();
    }
    await de.close();

    // an American browser: English, usable from the keyboard
    const en = await browser.newContext({ locale: 'en-US', viewport: { width: 900, height: 1400 } });
    page = await open(en, env.PC_URL);
    seen.en = await view(page);
    await page.screenshot({ path: `${env.PC_SHOTS}/preference-center-en-US.png`, fullPage: true });
    await page.keyboard.press('Tab');
    seen.en.firstTab = await page.evaluate(() => document.activeElement.id);

    // from a one-click URL's GET: that filter's opt-out chosen, focused
    page = await open(en, env.PC_CHOSEN);
    seen.chosen = await view(page);
    seen.chosen.focused = await page.evaluate(() => document.activeElement.id);
    seen.chosen.highlighted = await page.evaluate(() => [...document.querySelectorAll('.chosen')].map((e) => e.id));

    // from a refusal at the edge: the choice asked for highlighted, focused, not ticked
    for (const [name, url] of [['optin', env.PC_ASKED_OPTIN], ['consent', env.PC_ASKED_CONSENT]]) {
        if (!url) { continue; }
        page = await open(en, url);
        seen[`asked_${name}`] = await view(page);
        seen[`asked_${name}`].focused = await page.evaluate(() => document.activeElement.id);
        seen[`asked_${name}`].highlighted = await page.evaluate(() => [...document.querySelectorAll('.chosen')].map((e) => e.id));
    }
    await en.close();
} catch (e) {
    seen.failure = String(e && e.stack || e);
}

await browser.close();
process.stdout.write(JSON.stringify(seen) + '\n');
