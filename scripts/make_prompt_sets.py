#!/usr/bin/env python3
"""Writes the shipped prompt sets www/prompts/{arithmetic,capitals,counting}.jsonl
from templates, with a seed, each line tagged with its fixed split ("train" or
"eval", 30% held out). Run from the repository root; the output is
deterministic (tests/suite/prompt_sets.rs checks sizes, disjointness and answers).

    python3 scripts/make_prompt_sets.py
"""
import json
import random

SEED = 2412_01951
EVAL_SHARE = 0.3

# Countries whose capital is one undisputed city (those with two official
# capitals or a disputed one are left out, so the oracle is fair).
CAPITALS = """Afghanistan|Kabul;Albania|Tirana;Algeria|Algiers;Andorra|Andorra la Vella;Angola|Luanda;
Argentina|Buenos Aires;Armenia|Yerevan;Australia|Canberra;Austria|Vienna;Azerbaijan|Baku;Bahamas|Nassau;
Bahrain|Manama;Bangladesh|Dhaka;Barbados|Bridgetown;Belarus|Minsk;Belgium|Brussels;Belize|Belmopan;
Bhutan|Thimphu;Bosnia and Herzegovina|Sarajevo;Botswana|Gaborone;Brazil|Brasilia;Brunei|Bandar Seri Begawan;
Bulgaria|Sofia;Burkina Faso|Ouagadougou;Burundi|Gitega;Cambodia|Phnom Penh;Cameroon|Yaounde;Canada|Ottawa;
Cape Verde|Praia;Central African Republic|Bangui;Chad|N'Djamena;Chile|Santiago;China|Beijing;Colombia|Bogota;
Comoros|Moroni;Costa Rica|San Jose;Croatia|Zagreb;Cuba|Havana;Cyprus|Nicosia;Czech Republic|Prague;
Denmark|Copenhagen;Djibouti|Djibouti;Dominica|Roseau;Dominican Republic|Santo Domingo;Ecuador|Quito;
Egypt|Cairo;El Salvador|San Salvador;Equatorial Guinea|Malabo;Eritrea|Asmara;Estonia|Tallinn;Ethiopia|Addis Ababa;
Fiji|Suva;Finland|Helsinki;France|Paris;Gabon|Libreville;Gambia|Banjul;Georgia|Tbilisi;Germany|Berlin;
Ghana|Accra;Greece|Athens;Grenada|Saint George's;Guatemala|Guatemala City;Guinea|Conakry;Guinea-Bissau|Bissau;
Guyana|Georgetown;Haiti|Port-au-Prince;Honduras|Tegucigalpa;Hungary|Budapest;Iceland|Reykjavik;India|New Delhi;
Indonesia|Jakarta;Iran|Tehran;Iraq|Baghdad;Ireland|Dublin;Italy|Rome;Jamaica|Kingston;Japan|Tokyo;
Jordan|Amman;Kazakhstan|Astana;Kenya|Nairobi;Kiribati|Tarawa;Kuwait|Kuwait City;Kyrgyzstan|Bishkek;Laos|Vientiane;
Latvia|Riga;Lebanon|Beirut;Lesotho|Maseru;Liberia|Monrovia;Libya|Tripoli;Liechtenstein|Vaduz;Lithuania|Vilnius;
Luxembourg|Luxembourg;Madagascar|Antananarivo;Malawi|Lilongwe;Maldives|Male;Mali|Bamako;Malta|Valletta;
Marshall Islands|Majuro;Mauritania|Nouakchott;Mauritius|Port Louis;Mexico|Mexico City;Micronesia|Palikir;
Moldova|Chisinau;Monaco|Monaco;Mongolia|Ulaanbaatar;Montenegro|Podgorica;Morocco|Rabat;Mozambique|Maputo;
Myanmar|Naypyidaw;Namibia|Windhoek;Nepal|Kathmandu;New Zealand|Wellington;Nicaragua|Managua;Niger|Niamey;
Nigeria|Abuja;North Korea|Pyongyang;North Macedonia|Skopje;Norway|Oslo;Oman|Muscat;Pakistan|Islamabad;
Palau|Ngerulmud;Panama|Panama City;Papua New Guinea|Port Moresby;Paraguay|Asuncion;Peru|Lima;Philippines|Manila;
Poland|Warsaw;Portugal|Lisbon;Qatar|Doha;Romania|Bucharest;Russia|Moscow;Rwanda|Kigali;Saint Lucia|Castries;
Samoa|Apia;San Marino|San Marino;Saudi Arabia|Riyadh;Senegal|Dakar;Serbia|Belgrade;Seychelles|Victoria;
Sierra Leone|Freetown;Singapore|Singapore;Slovakia|Bratislava;Slovenia|Ljubljana;Solomon Islands|Honiara;
Somalia|Mogadishu;South Korea|Seoul;South Sudan|Juba;Spain|Madrid;Sudan|Khartoum;Suriname|Paramaribo;
Sweden|Stockholm;Switzerland|Bern;Syria|Damascus;Taiwan|Taipei;Tajikistan|Dushanbe;Tanzania|Dodoma;
Thailand|Bangkok;Togo|Lome;Tonga|Nuku'alofa;Trinidad and Tobago|Port of Spain;Tunisia|Tunis;Turkey|Ankara;
Turkmenistan|Ashgabat;Tuvalu|Funafuti;Uganda|Kampala;Ukraine|Kyiv;United Arab Emirates|Abu Dhabi;
United Kingdom|London;United States|Washington;Uruguay|Montevideo;Uzbekistan|Tashkent;Vanuatu|Port Vila;
Venezuela|Caracas;Vietnam|Hanoi;Yemen|Sanaa;Zambia|Lusaka;Zimbabwe|Harare"""


def arithmetic(rng):
    pairs = [(a, b) for a in range(10) for b in range(10)]
    two = [(a, b) for a in range(100) for b in range(100) if (a >= 10 or b >= 10)]
    pairs += rng.sample(two, 200)
    return [(f"What is {a} + {b}? Answer in one short sentence.", str(a + b)) for a, b in pairs]


def capitals(_rng):
    rows = [c.strip().split("|") for c in CAPITALS.replace("\n", "").split(";")]
    return [(f"What is the capital of {'the ' if c.startswith(('United', 'Czech', 'Central', 'Dominican', 'Marshall', 'Solomon', 'Philippines', 'Bahamas', 'Maldives', 'Gambia')) else ''}{c}? Answer in one short sentence.", cap) for c, cap in rows]


def counting(_rng):
    return [(f"What number comes after {n}? Answer in one short sentence.", str(n + 1)) for n in range(1, 301)]


def main():
    for name, make in [("arithmetic", arithmetic), ("capitals", capitals), ("counting", counting)]:
        rng = random.Random(f"{SEED}-{name}")
        rows = make(rng)
        assert len({p for p, _ in rows}) == len(rows), name
        held = set(rng.sample(range(len(rows)), round(EVAL_SHARE * len(rows))))
        with open(f"www/prompts/{name}.jsonl", "w") as f:
            for i, (prompt, answer) in enumerate(rows):
                split = "eval" if i in held else "train"
                f.write(json.dumps({"prompt": prompt, "answer": answer, "split": split}) + "\n")
        print(f"{name}: {len(rows)} prompts, {len(held)} held out for evaluation")


if __name__ == "__main__":
    main()
