/*
 * The preference center (docs/preference-center.md): plain JavaScript, no
 * framework.  Opened from a per-profile link,
 *
 *   .../preference-center/?c=<clientId>&p=<profileId>[&f=<filterId>]#t=<token>
 *
 * it reads Configuration/Preference in the browser's languages, the
 * profile's preferences and consents, and saves what the visitor changes,
 * each with the link's token.  The token stays in the fragment, which
 * browsers never send to a server.
 */
(function () {
    'use strict';

    var TEXT = {
        en: {
            title: 'Communication preferences',
            loading: 'Loading your preferences…',
            subscribed: 'Subscribed',
            frequency: 'How often',
            consents: 'Consents',
            consentGiven: 'I agree',
            save: 'Save',
            saving: 'Saving…',
            saved: 'Your choices have been saved.',
            nothing: 'Nothing has changed.',
            chosen: 'Save to unsubscribe from this.',
            asked: 'This page needs your choice here.',
            expired: 'This link has expired. Please ask for a new one.',
            revoked: 'This link is no longer valid. Please ask for a new one.',
            invalid: 'This link is not valid.',
            forbidden: 'This link does not allow this change.',
            network: 'The service cannot be reached. Check your connection and try again.',
            validation: 'The change was not accepted: ',
            failed: 'Something went wrong. Please try again later.'
        },
        de: {
            title: 'Kommunikationseinstellungen',
            loading: 'Ihre Einstellungen werden geladen…',
            subscribed: 'Abonniert',
            frequency: 'Wie oft',
            consents: 'Einwilligungen',
            consentGiven: 'Ich willige ein',
            save: 'Speichern',
            saving: 'Wird gespeichert…',
            saved: 'Ihre Auswahl wurde gespeichert.',
            nothing: 'Es wurde nichts geändert.',
            chosen: 'Speichern Sie, um sich hiervon abzumelden.',
            asked: 'Diese Seite benötigt hier Ihre Wahl.',
            expired: 'Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.',
            revoked: 'Dieser Link ist nicht mehr gültig. Bitte fordern Sie einen neuen an.',
            invalid: 'Dieser Link ist ungültig.',
            forbidden: 'Dieser Link erlaubt diese Änderung nicht.',
            network: 'Der Dienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
            validation: 'Die Änderung wurde nicht angenommen: ',
            failed: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es später erneut.'
        },
        fr: {
            title: 'Préférences de communication',
            loading: 'Chargement de vos préférences…',
            subscribed: 'Abonné',
            frequency: 'Fréquence',
            consents: 'Consentements',
            consentGiven: 'J’accepte',
            save: 'Enregistrer',
            saving: 'Enregistrement…',
            saved: 'Vos choix ont été enregistrés.',
            nothing: 'Rien n’a changé.',
            chosen: 'Enregistrez pour vous désabonner.',
            asked: 'Cette page a besoin de votre choix ici.',
            expired: 'Ce lien a expiré. Veuillez en demander un nouveau.',
            revoked: 'Ce lien n’est plus valide. Veuillez en demander un nouveau.',
            invalid: 'Ce lien n’est pas valide.',
            forbidden: 'Ce lien ne permet pas cette modification.',
            network: 'Le service est injoignable. Vérifiez votre connexion et réessayez.',
            validation: 'La modification n’a pas été acceptée : ',
            failed: 'Une erreur est survenue. Veuillez réessayer plus tard.'
        }
    };

    var OPT_IN = 1, OPT_OUT = 2, GRANTED = 1, DENIED = 2;

    var languages = navigator.languages && navigator.languages.length
                    ? navigator.languages : [navigator.language || 'en'];
    var lang = 'en';
    for (var i = 0; i < languages.length; i++) {
        var primary = String(languages[i]).toLowerCase().split('-')[0];
        if (TEXT[primary]) { lang = primary; break; }
    }
    var T = TEXT[lang];

    var query = new URLSearchParams(location.search);
    var fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
    var client = query.get('c'), profile = query.get('p'),
        chosenFilter = query.get('f'), token = fragment.get('t'),
        /* from a refusal at the edge (docs/edge.md): highlighted, never ticked */
        askedFilter = query.get('optin'), askedConsent = query.get('consent');
    var api = document.documentElement.getAttribute('data-api') || '/Profiles/v4/';
    if (api.charAt(api.length - 1) !== '/') { api += '/'; }

    var $ = function (id) { return document.getElementById(id); };
    var state = { filters: {}, consents: {} };

    document.documentElement.lang = lang;
    document.title = T.title;
    $('title').textContent = T.title;
    $('save').textContent = T.save;

    function el(tag, attrs, children) {
        var e = document.createElement(tag);
        Object.keys(attrs || {}).forEach(function (k) {
            if (k === 'text') { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
        });
        (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
        return e;
    }

    /* an error the API answered, or none (fetch failed): the visitor's words */
    function problem(status, message) {
        if (status === 0) { return T.network; }
        if (status === 401) {
            if (/expired/i.test(message)) { return T.expired; }
            if (/revoked/i.test(message)) { return T.revoked; }
            return T.invalid;
        }
        if (status === 403) { return T.forbidden; }
        if (status === 400) { return T.validation + (message || ''); }
        return T.failed;
    }

    function showError(text) {
        $('error').textContent = text;
        $('error').hidden = false;
        $('status').textContent = '';
        $('main').setAttribute('aria-busy', 'false');
    }

    function call(method, path, body) {
        var init = {
            method: method,
            headers: { 'Authorization': 'Bearer ' + token,
                       'Accept-Language': languages.join(', ') },
            cache: 'no-store'
        };
        if (body !== undefined) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        return fetch(api + encodeURIComponent(client) + '/' + path, init).then(function (res) {
            return res.text().then(function (text) {
                var json = null;
                try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
                if (!res.ok) {
                    var err = new Error(json && json.Message || res.statusText);
                    err.status = res.status;
                    throw err;
                }
                return json;
            });
        }, function () {
            var err = new Error('network');
            err.status = 0;
            throw err;
        });
    }

    /* a configuration item's text in the answer's locale, else its own */
    function tag(item, key, fallback) {
        var locales = item.Locales || [];
        for (var i = 0; i < locales.length; i++) {
            var tags = locales[i].DisplayTags || [];
            for (var j = 0; j < tags.length; j++) {
                if (tags[j].Key === key && tags[j].Value) { return tags[j].Value; }
            }
        }
        return fallback || '';
    }

    function byOrder(a, b) { return (a.DisplayOrder || 0) - (b.DisplayOrder || 0); }

    /* the profile's current preference of each filter, at any contact point */
    function currentPreferences(prefs) {
        var found = {};
        function take(list) {
            (list || []).forEach(function (p) { if (!found[p.FilterId]) { found[p.FilterId] = p; } });
        }
        take(prefs.ProfilePreferences);
        (prefs.Emails || []).forEach(function (e) { take(e.EmailPreferences); });
        (prefs.PhoneNumbers || []).forEach(function (e) { take(e.PhonePreferences); });
        (prefs.Addresses || []).forEach(function (e) { take(e.AddressPreferences); });
        return found;
    }

    function renderFilter(filter, current) {
        var id = 'filter-' + filter.FilterId;
        var pref = current[filter.FilterId];
        var on = pref ? pref.PreferenceType === OPT_IN : filter.DefaultPreferenceValue === OPT_IN;
        var help = tag(filter, 'Help', filter.Description);
        var box = el('input', { type: 'checkbox', id: id, name: filter.FilterId });
        box.checked = on;
        if (help) { box.setAttribute('aria-describedby', id + '-help'); }

        var frequencies = ((filter.FrequencyLocales || [])[0] || {}).Frequencies || [];
        var select = null;
        if (frequencies.length) {
            select = el('select', { id: id + '-freq', name: filter.FilterId + '-freq' });
            frequencies.slice().sort(byOrder).forEach(function (f) {
                var o = el('option', { value: f.FrequencyId, text: f.DisplayName || f.FrequencyId });
                if (pref ? pref.FrequencyId === f.FrequencyId : f.IsDefault) { o.selected = true; }
                select.appendChild(o);
            });
        }

        state.filters[filter.FilterId] = {
            box: box, select: select, on: on,
            frequency: select ? select.value : null
        };

        var label = el('label', { 'for': id, 'class': 'check' }, [
            box, el('span', { text: tag(filter, 'Label', filter.Name) + ' ' }, [
                filter.ChannelId ? el('span', { 'class': 'channel', text: filter.ChannelId }) : null ])
        ]);
        var div = el('div', { 'class': 'filter', id: id + '-row' }, [
            label,
            help ? el('p', { 'class': 'help', id: id + '-help', text: help }) : null,
            select ? el('p', { 'class': 'freq' }, [
                el('label', { 'for': id + '-freq', text: T.frequency + ' ' }), select ]) : null
        ]);
        if (chosenFilter === filter.FilterId) {
            /* from a one-click URL: the opt-out is chosen, saving confirms it */
            box.checked = false;
            div.className += ' chosen';
            div.appendChild(el('p', { 'class': 'help', text: T.chosen }));
        } else if (askedFilter === filter.FilterId) {
            div.className += ' chosen';
            div.appendChild(el('p', { 'class': 'help', text: T.asked }));
        }
        return div;
    }

    function renderPrograms(config, prefs) {
        var current = currentPreferences(prefs);
        var root = $('programs');
        (config.Programs || []).slice().sort(byOrder).forEach(function (program) {
            var filters = (program.Filters || []).filter(function (f) { return f.IsActive !== false; });
            if (!filters.length) { return; }
            var desc = tag(program, 'Description', program.Description);
            var set = el('fieldset', {}, [
                el('legend', { text: tag(program, 'Label', program.Name) }),
                desc ? el('p', { 'class': 'desc', text: desc }) : null
            ]);
            filters.sort(byOrder).forEach(function (f) { set.appendChild(renderFilter(f, current)); });
            root.appendChild(set);
        });
    }

    function renderConsents(config, consents) {
        var status = {};
        (consents.Consents || []).forEach(function (c) { status[c.ConsentType] = c.ConsentStatus; });
        var types = (config.ConsentTypes || []).filter(function (t) { return t.IsActive !== false; });
        if (!types.length) { return; }
        var set = el('fieldset', {}, [ el('legend', { text: T.consents }) ]);
        types.forEach(function (type) {
            var version = (type.Versions || []).filter(function (v) { return v.IsActive; })[0];
            if (!version) { return; }
            var fields = (version.LocalizedFields || [])[0] || {};
            var id = 'consent-' + type.TypeName;
            var box = el('input', { type: 'checkbox', id: id, name: id, 'aria-describedby': id + '-text' });
            box.checked = status[type.TypeName] === GRANTED;
            state.consents[type.TypeName] = { box: box, on: box.checked, version: version.ConsentVersion,
                                              locale: fields.Locale || null };
            var asked = askedConsent === type.TypeName;
            set.appendChild(el('div', { 'class': asked ? 'filter chosen' : 'filter', id: id + '-row' }, [
                el('label', { 'for': id, 'class': 'check' }, [ box,
                    el('span', { text: (fields.Name || type.TypeName) + ': ' + T.consentGiven }) ]),
                el('p', { 'class': 'consent-text', id: id + '-text',
                          text: fields.ConsentLanguage || fields.Description || '' }),
                asked ? el('p', { 'class': 'help', text: T.asked }) : null
            ]));
        });
        $('consents').appendChild(set);
    }

    function save(event) {
        event.preventDefault();
        var prefs = [], consents = [];
        Object.keys(state.filters).forEach(function (id) {
            var f = state.filters[id];
            var freq = f.select ? f.select.value : null;
            if (f.box.checked !== f.on || (f.box.checked && freq !== f.frequency)) {
                var p = { FilterId: id, PreferenceType: f.box.checked ? OPT_IN : OPT_OUT };
                if (freq && f.box.checked) { p.FrequencyId = freq; }
                prefs.push(p);
            }
        });
        Object.keys(state.consents).forEach(function (type) {
            var c = state.consents[type];
            if (c.box.checked !== c.on) {
                var item = { ConsentType: type, ConsentVersion: c.version,
                             ConsentStatus: c.box.checked ? GRANTED : DENIED };
                if (c.locale) { item.Locale = c.locale; }
                consents.push(item);
            }
        });
        $('error').hidden = true;
        if (!prefs.length && !consents.length) {
            $('status').textContent = T.nothing;
            return;
        }
        $('save').disabled = true;
        $('status').textContent = T.saving;
        var done = Promise.resolve();
        if (prefs.length) {
            done = done.then(function () { return call('POST', 'Profile/' + profile + '/Preferences', prefs); });
        }
        if (consents.length) {
            done = done.then(function () {
                return call('POST', 'Consents/' + profile, { Consents: consents });
            });
        }
        done.then(function () {
            Object.keys(state.filters).forEach(function (id) {
                var f = state.filters[id];
                f.on = f.box.checked;
                f.frequency = f.select ? f.select.value : null;
            });
            Object.keys(state.consents).forEach(function (t) {
                state.consents[t].on = state.consents[t].box.checked;
            });
            $('status').textContent = T.saved;
        }, function (err) {
            showError(problem(err.status, err.message));
            $('error').focus();
        }).then(function () {
            $('save').disabled = false;
        });
    }

    if (!client || !profile || !token || !/^[0-9]+$/.test(profile)) {
        showError(T.invalid);
        return;
    }

    $('status').textContent = T.loading;

    Promise.all([
        call('GET', 'Configuration/Preference'),
        call('GET', 'Profile/' + profile + '/Preferences'),
        call('GET', 'Consents/' + profile)
    ]).then(function (answers) {
        renderPrograms(answers[0] || {}, answers[1] || {});
        renderConsents(answers[0] || {}, answers[2] || {});
        $('form').hidden = false;
        $('form').addEventListener('submit', save);
        $('status').textContent = '';
        $('main').setAttribute('aria-busy', 'false');
        var chosen = (chosenFilter && state.filters[chosenFilter])
                     || (askedFilter && state.filters[askedFilter])
                     || (askedConsent && state.consents[askedConsent]);
        if (chosen) { chosen.box.focus(); } else { $('title').focus(); }
    }, function (err) {
        showError(problem(err.status, err.message));
    });
})();
