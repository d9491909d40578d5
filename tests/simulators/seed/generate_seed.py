#!/usr/bin/env python3
"""Generates seed/verenigingen.json (the checked-in seed of the register simulator).

Deterministic: running it twice gives the same file. The JSON file is the source of
truth that the crate embeds with include_str!; this script only documents how it was
made. Run from this directory: python3 generate_seed.py > verenigingen.json
"""
import json
import random
import uuid

rng = random.Random(20240917)
NS = uuid.UUID("8c0ff8b2-6f0e-4d1e-9c52-6a1f7b9a1c00")


def lid(prefix, *parts):
    return f"{prefix}:{uuid.uuid5(NS, '-'.join(str(p) for p in parts))}"


HOOFDACTIVITEITEN = {
    "BIAG": "Burgerinitiatief & Actiegroep",
    "BWWC": "Buurtwerking & Wijkcomité",
    "DINT": "Diversiteit & Integratie",
    "GEWE": "Gezondheid & Welzijn",
    "HOSP": "Hobby & Spel",
    "INOS": "Internationaal & Ontwikkelingssamenwerking",
    "JGDW": "Jeugdwerk",
    "KLDU": "Klimaat & Duurzaamheid",
    "KECU": "Kunsten, Erfgoed & Cultuur",
    "LAVI": "Landbouw & Visserij",
    "LEBE": "Levensbeschouwelijk",
    "MADP": "Maatschappelijke dienstverlening & Politiek",
    "MEDG": "Mediawijsheid & Digitale geletterdheid",
    "MROW": "Mobiliteit, Ruimtelijke ordening & Wonen",
    "NMDW": "Natuur, Milieu & Dierenwelzijn",
    "VORM": "Onderwijs & Vorming",
    "SOVO": "Sociaal-cultureel volwassenenwerk",
    "SPRT": "Sport",
    "ONWE": "Technologie & Wetenschap",
    "TOER": "Toerisme",
    "WESE": "Werk & Sociale economie",
}

TYPES = {
    "FV": "Feitelijke vereniging",
    "VZER": "Vereniging zonder eigen rechtspersoonlijkheid",
    "VZW": "Vereniging zonder winstoogmerk",
    "IVZW": "Internationale vereniging zonder winstoogmerk",
    "PS": "Private stichting",
}
KBO_TYPES = {"VZW", "IVZW", "PS"}

# gemeente (postal name) -> (werkingsgebied code, werkingsgebied naam)
WERKINGSGEBIED = {
    "Aalst": ("BE23141002", "Aalst"),
    "Evergem": ("BE23444019", "Evergem"),
    "Beveren": ("BE23646003", "Beveren"),
    "Kallo": ("BE23646003", "Beveren"),
    "Doel": ("BE23646003", "Beveren"),
    "Kruibeke": ("BE23646013", "Kruibeke"),
    "Zwijndrecht": ("BE21111056", "Zwijndrecht"),
    "Gent": ("BE23444021", "Gent"),
    "Antwerpen": ("BE21111002", "Antwerpen"),
    "Leuven": ("BE24224062", "Leuven"),
    "Brugge": ("BE25131005", "Brugge"),
    "Hasselt": ("BE22471022", "Hasselt"),
    "Brussel": ("BE10021004", "Brussel"),
    "Mechelen": ("BE21212025", "Mechelen"),
    "Kortrijk": ("BE25434022", "Kortrijk"),
    "Sint-Niklaas": ("BE23646021", "Sint-Niklaas"),
    "Dendermonde": ("BE23242006", "Dendermonde"),
    "Lokeren": ("BE23646014", "Lokeren"),
}

# (straat, huisnummer, busnummer, postcode, gemeente)
A = lambda s, n, p, g, b="": (s, n, b, p, g)  # noqa: E731

# Curated associations:
# (naam, korteNaam, type, status/einddatum, startdatum, activiteiten, doelgroep, beschrijving,
#  locaties [(locatietype, naam, adres-tuple, isPrimair)])
C, ACT, ZETEL = "Correspondentie", "Activiteiten", "Maatschappelijke zetel volgens KBO"
ASSOCIATIONS = [
    # ---- Aalst (9300, 9308, 9310, 9320)
    ("Chiro Sint-Jozef Aalst", "Chiro SJ", "FV", None, "1968-09-01", ["JGDW"], (6, 18),
     "Chirogroep voor jongens en meisjes van 6 tot 18 jaar, elke zondagnamiddag.",
     [(ACT, "Chirolokaal", A("Kerkstraat", "48", "9300", "Aalst"), True)]),
    ("Scouts en Gidsen Sint-Martinus Aalst", "Scouts Sint-Martinus", "VZER", None, "1931-10-04", ["JGDW"], (7, 21),
     "Scouts- en gidsengroep met takken van kapoenen tot jins.",
     [(ACT, "Scoutsterrein", A("Moorselbaan", "312", "9300", "Aalst"), True),
      (C, "", A("Leopoldlaan", "17", "9300", "Aalst", "2"), False)]),
    ("Koninklijke Atletiekvereniging Aalst", "KAVA", "VZW", None, "1946-03-15", ["SPRT"], (6, 99),
     "Atletiekclub met trainingen op de piste van het Stedelijk Sportcentrum.",
     [(ZETEL, "", A("Sportlaan", "2", "9300", "Aalst"), False),
      (ACT, "Atletiekpiste", A("Sportlaan", "2", "9300", "Aalst"), True)]),
    ("Aalsterse Carnavalsgroep De Vuil Janetten", "Vuil Janetten", "FV", None, "1998-02-01", ["KECU", "HOSP"], (16, 150),
     "Carnavalsgroep die elk jaar meestapt in de stoet van Aalst Carnaval.",
     [(C, "", A("Molenstraat", "115", "9300", "Aalst"), True)]),
    ("Volleybalclub Hofstade", "VC Hofstade", "VZER", None, "1979-08-20", ["SPRT"], (8, 65),
     "Volleybal voor jeugd en volwassenen, recreatief en competitie.",
     [(ACT, "Sporthal Hofstade", A("Hoogstraat", "60", "9308", "Aalst"), True)]),
    ("Gezinsbond Gijzegem", "", "FV", None, "1985-01-01", ["GEWE", "SOVO"], (0, 150),
     "Plaatselijke afdeling van de Gezinsbond met kinderoppasdienst en tweedehandsbeurs.",
     [(C, "", A("Gijzegemstraat", "23", "9308", "Aalst"), True)]),
    ("Fanfare Sint-Cecilia Moorsel", "Fanfare Moorsel", "VZW", None, "1893-11-22", ["KECU"], (10, 150),
     "Harmonie- en fanfareorkest met muziekschool voor jonge blazers.",
     [(ZETEL, "", A("Bosstraat", "7", "9310", "Aalst"), False),
      (ACT, "Repetitielokaal De Rijke Gezelle", A("Dorp", "3", "9310", "Aalst"), True)]),
    ("Natuurpunt Aalst - Denderstreek", "Natuurpunt Aalst", "VZER", None, "2001-05-12", ["NMDW", "KLDU"], (0, 150),
     "Lokale kern van Natuurpunt die de Osbroek en de Wolfputten beheert.",
     [(ACT, "Bezoekerscentrum Osbroek", A("Kapellekensstraat", "1", "9320", "Aalst"), True),
      (C, "", A("Brusselbaan", "214", "9320", "Aalst", "3"), False)]),
    ("Wielerclub De Dendervrienden Erembodegem", "WC Dendervrienden", "FV", None, "2008-03-01", ["SPRT"], (16, 99),
     "Wielertoeristen die op zondagochtend vertrekken aan café De Kroon.",
     [(ACT, "Café De Kroon", A("Erembodegem-Dorp", "40", "9320", "Aalst"), True)]),
    ("Buurtcomité Schaarbeek-Aalst", "", "FV", "2023-06-30", "2010-04-01", ["BWWC"], (0, 150),
     "Buurtcomité dat het jaarlijkse straatfeest organiseerde.",
     [(C, "", A("Schaarbeekstraat", "88", "9300", "Aalst"), True)]),
    ("Koninklijk Toneelgezelschap Vondel Aalst", "Vondel", "VZW", None, "1921-09-01", ["KECU", "SOVO"], (12, 150),
     "Amateurtoneel met drie producties per seizoen in de Werf.",
     [(ZETEL, "", A("Pontstraat", "27", "9300", "Aalst"), False),
      (ACT, "Cultuurcentrum De Werf", A("Molenstraat", "51", "9300", "Aalst"), True),
      (ACT, "Opslagplaats decors", A("Kortrijksesteenweg", "1088", "9000", "Gent"), False)]),
    ("Vereniging Vlaamse Jeugdherbergen Aalst", "JH Aalst", "VZER", None, "1999-07-01", ["TOER", "JGDW"], (12, 30),
     "Vrijwilligersgroep rond jeugdtoerisme in de Denderstreek.",
     [(ACT, "", A("Gentsesteenweg", "4", "9300", "Aalst"), True),
      (ACT, "Jeugdherberg Gent", A("Sint-Widostraat", "11", "9000", "Gent"), False)]),
    ("Schaakclub Denderleeuw-Aalst", "SK Dender", "FV", None, "1975-10-10", ["HOSP"], (8, 150),
     "Schaakclub met interclubploegen en jeugdschaak op woensdag.",
     [(ACT, "Zaal Sint-Anna", A("Vrijheidstraat", "34", "9300", "Aalst"), True)]),
    # ---- Evergem (9940)
    ("Chiro Sleidinge", "Chiro Sleidinge", "FV", None, "1972-09-15", ["JGDW"], (6, 17),
     "Chiro voor kinderen en jongeren uit Sleidinge en omstreken.",
     [(ACT, "Chiroheem", A("Sleidinge-Dorp", "84", "9940", "Evergem"), True)]),
    ("Scouts Evergem", "", "VZER", None, "1946-10-01", ["JGDW"], (6, 21),
     "Scoutsgroep met lokalen aan het Molenhuisje.",
     [(ACT, "Scoutslokalen", A("Molenstraat", "120", "9940", "Evergem"), True),
      (C, "", A("Hogeweg", "9", "9940", "Evergem", "1"), False)]),
    ("Koninklijke Voetbalclub Ertvelde", "KVC Ertvelde", "VZW", None, "1936-08-01", ["SPRT"], (5, 99),
     "Voetbalclub met jeugdwerking en eerste ploeg in provinciale reeks.",
     [(ZETEL, "", A("Kerkplein", "3", "9940", "Evergem"), False),
      (ACT, "Sportpark Ertvelde", A("Rechtstraat", "51", "9940", "Evergem"), True)]),
    ("Davidsfonds Kluizen", "DF Kluizen", "FV", None, "1955-01-01", ["KECU", "SOVO"], (0, 150),
     "Lezingen, reizen en erfgoedwandelingen in Kluizen.",
     [(C, "", A("Kluizendorp", "62", "9940", "Evergem"), True)]),
    ("Landelijke Gilde Evergem", "", "FV", None, "1962-01-01", ["LAVI", "SOVO"], (0, 150),
     "Plattelandsvereniging met kookavonden en landbouwuitstappen.",
     [(C, "", A("Kapellestraat", "16", "9940", "Evergem"), True)]),
    ("Badmintonclub Shuttle Evergem", "BC Shuttle", "VZER", None, "1989-09-01", ["SPRT"], (8, 99),
     "Badminton in Sporthal Ter Beken, recreatief en competitie.",
     [(ACT, "Sporthal Ter Beken", A("Wippelgem-Dorp", "2", "9940", "Evergem"), True),
      (ACT, "Sporthal Gent-Noord", A("Wondelgemstraat", "150", "9000", "Gent"), False)]),
    ("Repair Café Evergem", "", "FV", None, "2016-03-19", ["KLDU", "BWWC"], (0, 150),
     "Maandelijks repair café in het ontmoetingscentrum.",
     [(ACT, "OC Evergem", A("Stationsstraat", "30", "9940", "Evergem"), True)]),
    ("Vzw Zorgnetwerk Meetjesland-Evergem", "Zorgnetwerk", "VZW", None, "2012-06-01", ["GEWE", "MADP"], (0, 150),
     "Vrijwilligers voor vervoer en boodschappen van hulpbehoevende inwoners.",
     [(ZETEL, "", A("Weststraat", "5", "9940", "Evergem"), False)]),
    ("Turnkring Sparta Evergem", "Sparta", "VZER", None, "1951-09-01", ["SPRT", "JGDW"], (3, 70),
     "Turnen, kleuterturnen en dans voor alle leeftijden.",
     [(ACT, "Turnzaal Sparta", A("Langerbruggestraat", "95", "9940", "Evergem"), True)]),
    ("Vogelbescherming Ertvelde", "", "FV", "2022-12-31", "1991-04-01", ["NMDW"], (0, 150),
     "Vogelclub met jaarlijkse tentoonstelling; gestopt wegens te weinig leden.",
     [(C, "", A("Meersstraat", "14", "9940", "Evergem"), True)]),
    # ---- Beveren (9120, 9130, 9150, 2070)
    ("Chiro Melsele", "Chiro Melsele", "FV", None, "1964-09-01", ["JGDW"], (6, 18),
     "Chirogroep in het centrum van Melsele.",
     [(ACT, "Chirolokalen", A("Kapelstraat", "21", "9120", "Beveren"), True)]),
    ("Koninklijke Harmonie Sint-Cecilia Beveren", "Harmonie Beveren", "VZW", None, "1880-11-22", ["KECU"], (10, 150),
     "Harmonieorkest met jeugdorkest en drumband.",
     [(ZETEL, "", A("Grote Markt", "11", "9120", "Beveren"), False),
      (ACT, "Cultuurcentrum Ter Vesten", A("Gravenplein", "3", "9120", "Beveren"), True)]),
    ("Scouts en Gidsen Haasdonk", "Scouts Haasdonk", "VZER", None, "1947-10-01", ["JGDW"], (6, 21),
     "Scouts en gidsen aan de rand van het Haasdonkse bos.",
     [(ACT, "Scoutsterrein", A("Kloosterstraat", "25", "9120", "Beveren"), True)]),
    ("Havenwandelaars Kallo", "", "FV", None, "2005-05-01", ["TOER", "NMDW"], (0, 150),
     "Wandelclub die de polders en de haven rond Kallo verkent.",
     [(C, "", A("Oud Arenberg", "2", "9130", "Kallo"), True)]),
    ("Erfgoedkring Doel Leeft", "Doel Leeft", "VZER", None, "1999-01-01", ["KECU", "BIAG"], (0, 150),
     "Bewoners en sympathisanten die het erfgoed van het polderdorp Doel bewaren.",
     [(ACT, "Hof Christoffel", A("Engelsesteenweg", "1", "9130", "Doel"), True),
      (C, "", A("Kallosesteenweg", "11", "9130", "Kallo", "b"), False)]),
    ("Koninklijke Sportkring Beveren Jeugd", "KSK Jeugd", "VZW", None, "1935-06-01", ["SPRT", "JGDW"], (5, 21),
     "Jeugdvoetbalwerking met een veertigtal ploegen.",
     [(ZETEL, "", A("Stationsstraat", "141", "9120", "Beveren"), False),
      (ACT, "Freethiel", A("Stationsstraat", "141", "9120", "Beveren"), True),
      (ACT, "Trainingscomplex Antwerpen-Linkeroever", A("Blancefloerlaan", "180", "2050", "Antwerpen"), False)]),
    ("Tennisclub De Kruibeekse", "TC Kruibeke", "VZER", None, "1977-04-01", ["SPRT"], (6, 99),
     "Tennisclub met zes gravelterreinen.",
     [(ACT, "Tennisterreinen", A("Hogenakkerhoekstraat", "10", "9150", "Kruibeke"), True)]),
    ("Ziekenzorg Kruibeke-Bazel", "", "FV", None, "1970-01-01", ["GEWE"], (0, 150),
     "Ziekenzorggroep die zieken en mensen met een beperking bezoekt.",
     [(C, "", A("Kasteeldreef", "4", "9150", "Kruibeke"), True)]),
    ("Jeugdhuis De Schakel Zwijndrecht", "JH De Schakel", "VZW", None, "1983-02-01", ["JGDW", "KECU"], (14, 30),
     "Jeugdhuis met concerten, fuiven en een open café.",
     [(ZETEL, "", A("Statiestraat", "5", "2070", "Zwijndrecht"), False),
      (ACT, "Jeugdhuis", A("Statiestraat", "5", "2070", "Zwijndrecht"), True)]),
    ("Zwemclub Burcht-Zwijndrecht", "ZC Burcht", "VZER", None, "1972-09-01", ["SPRT"], (6, 99),
     "Zwemclub met trainingen in het zwembad van Zwijndrecht.",
     [(ACT, "Zwembad", A("Binnenvaart", "1", "2070", "Zwijndrecht"), True)]),
    # ---- elders in Vlaanderen en Brussel
    ("Chiro Sint-Amandsberg", "Chiro SAB", "FV", None, "1966-09-01", ["JGDW"], (6, 18),
     "Chirogroep in Sint-Amandsberg.",
     [(ACT, "Chirolokaal", A("Antwerpsesteenweg", "203", "9000", "Gent"), True)]),
    ("Gentse Roeivereniging Vooruit", "GRV", "VZW", None, "1912-05-01", ["SPRT"], (12, 99),
     "Roeiclub aan de Watersportbaan.",
     [(ZETEL, "", A("Coupure Links", "653", "9000", "Gent"), False),
      (ACT, "Botenloods Watersportbaan", A("Yachtdreef", "1", "9000", "Gent"), True)]),
    ("Buurtwerking Dampoort Leeft", "", "FV", None, "2015-09-01", ["BWWC", "DINT"], (0, 150),
     "Buurtbewoners die samen moestuinen, repair cafés en buurtfeesten organiseren.",
     [(ACT, "Buurtcentrum", A("Dampoortstraat", "38", "9000", "Gent"), True)]),
    ("Koninklijke Oudheidkundige Kring Antwerpen", "KOKA", "VZW", None, "1904-01-01", ["KECU"], (0, 150),
     "Historische vereniging met lezingen en publicaties over Antwerpen.",
     [(ZETEL, "", A("Oude Koornmarkt", "16", "2000", "Antwerpen"), False)]),
    ("Scouts en Gidsen Sint-Andries Antwerpen", "Scouts Sint-Andries", "VZER", None, "1932-10-01", ["JGDW"], (6, 21),
     "Stadsscouts met lokalen in de Sint-Andrieswijk.",
     [(ACT, "Scoutslokaal", A("Kloosterstraat", "87", "2000", "Antwerpen"), True)]),
    ("Antwerpse Basketbal Academie", "ABA", "VZW", None, "2003-09-01", ["SPRT", "JGDW"], (6, 25),
     "Basketbal voor jongeren in de Antwerpse binnenstad.",
     [(ZETEL, "", A("Lange Nieuwstraat", "101", "2000", "Antwerpen", "4"), False),
      (ACT, "Sporthal Kiel", A("De Bosschaertstraat", "1", "2020", "Antwerpen"), True)]),
    ("Studentenvereniging Historia Leuven", "Historia", "FV", None, "1952-10-01", ["VORM", "KECU"], (17, 30),
     "Kring van de studenten geschiedenis.",
     [(C, "", A("Blijde-Inkomststraat", "21", "3000", "Leuven"), True)]),
    ("Leuvense Schaakkring", "LSK", "VZER", None, "1928-01-01", ["HOSP"], (8, 150),
     "Schaakclub met clubavond op vrijdag.",
     [(ACT, "Zaal Het Depot", A("Martelarenplein", "12", "3000", "Leuven"), True)]),
    ("Brugse Kantkring", "", "FV", None, "1994-03-01", ["KECU", "HOSP"], (0, 150),
     "Kantklossers die het Brugse kantambacht levend houden.",
     [(ACT, "Kantcentrum", A("Balstraat", "16", "8000", "Brugge"), True)]),
    ("Koninklijke Vrije Schuttersgilde Sint-Sebastiaan", "Sint-Sebastiaansgilde", "VZW", None, "1416-01-01",
     ["KECU", "SPRT"], (16, 150), "Historische schuttersgilde met een eigen gildehuis.",
     [(ZETEL, "", A("Carmersstraat", "174", "8000", "Brugge"), False)]),
    ("Hasseltse Jeneverbroederschap", "", "FV", None, "1986-10-01", ["KECU", "TOER"], (18, 150),
     "Genootschap dat het jeneverpatrimonium van Hasselt promoot.",
     [(C, "", A("Witte Nonnenstraat", "19", "3500", "Hasselt"), True)]),
    ("Atletiekclub Hasselt", "AC Hasselt", "VZW", None, "1955-04-01", ["SPRT"], (6, 99),
     "Atletiekclub met piste op de campus.",
     [(ZETEL, "", A("Kuringersteenweg", "297", "3500", "Hasselt"), False),
      (ACT, "Atletiekpiste", A("Kuringersteenweg", "297", "3500", "Hasselt"), True)]),
    ("Brusselse Nederlandstalige Jeugdraad", "BNJ", "VZER", None, "1990-01-01", ["JGDW", "MADP"], (12, 30),
     "Overlegplatform van Nederlandstalige jeugdwerkingen in Brussel.",
     [(ACT, "Gemeenschapscentrum", A("Lakensestraat", "76", "1000", "Brussel"), True)]),
    ("Internationale Vereniging voor Nederlandse Taal", "IVNT", "IVZW", None, "1988-06-01", ["VORM", "INOS"], (0, 150),
     "Internationaal netwerk van docenten Nederlands als vreemde taal.",
     [(ZETEL, "", A("Anspachlaan", "1", "1000", "Brussel", "12"), False),
      (C, "", A("Anspachlaan", "1", "1000", "Brussel", "12"), True)]),
    ("Stichting Vlaamse Volkssport", "", "PS", None, "2004-01-01", ["SPRT", "KECU"], (0, 150),
     "Private stichting die traditionele volkssporten ondersteunt.",
     [(ZETEL, "", A("Naamsestraat", "63", "3000", "Leuven"), False)]),
    ("Stichting Erfgoed Waasland", "", "PS", None, "2011-03-01", ["KECU"], (0, 150),
     "Stichting die erfgoed in het Waasland beheert en ontsluit.",
     [(ZETEL, "", A("Grote Markt", "45", "9100", "Sint-Niklaas"), False)]),
    ("Mechelse Reuzenvrienden", "", "FV", None, "1996-01-01", ["KECU"], (0, 150),
     "Vrienden van de Mechelse reuzen en de Ommegang.",
     [(C, "", A("Bruul", "42", "2800", "Mechelen"), True)]),
    ("Wereldwinkel Kortrijk", "", "VZER", None, "1978-01-01", ["INOS", "KLDU"], (0, 150),
     "Vrijwilligers van de lokale Wereldwinkel.",
     [(ACT, "Winkel", A("Doorniksestraat", "25", "8500", "Kortrijk"), True)]),
    ("KWB Dendermonde", "", "FV", None, "1960-01-01", ["SOVO"], (0, 150),
     "Lokale afdeling van KWB met gezinsactiviteiten.",
     [(C, "", A("Oude Vest", "118", "9200", "Dendermonde"), True)]),
    ("Lokerse Zwemkring", "LZK", "VZW", "2024-08-31", "1969-01-01", ["SPRT"], (6, 99),
     "Zwemclub, opgegaan in een fusieclub.",
     [(ZETEL, "", A("Zelebaan", "100", "9160", "Lokeren"), False)]),
    ("Vriendenkring Gepensioneerden Antwerpen-Zuid", "", "FV", None, "2000-01-01", ["SOVO", "GEWE"], (55, 150),
     "Ontmoeting en uitstappen voor gepensioneerden.",
     [(C, "", A("Leopold de Waelplaats", "8", "2000", "Antwerpen"), True)]),
    ("Gentse Feestenkoor", "", "FV", None, "2019-07-01", ["KECU"], (16, 150),
     "Projectkoor dat enkel tijdens de Gentse Feesten optreedt.",
     []),
    ("Burgerinitiatief Ademruimte Leuven", "", "FV", None, "2021-02-01", ["BIAG", "MROW"], (0, 150),
     "Bewonersbeweging voor autoluwe straten; nog geen vaste locatie.",
     []),
    ("Digitale Buddy's Hasselt", "", "VZER", None, "2020-10-01", ["MEDG", "GEWE"], (60, 150),
     "Vrijwilligers helpen senioren met smartphone en computer.",
     [(ACT, "Bibliotheek", A("Guffenslaan", "25", "3500", "Hasselt"), True)]),
    ("Technologieclub Jonge Makers Brugge", "Jonge Makers", "VZW", None, "2017-09-01", ["ONWE", "JGDW"], (10, 18),
     "Makerspace met programmeer- en elektronicaworkshops voor jongeren.",
     [(ZETEL, "", A("Langestraat", "160", "8000", "Brugge"), False),
      (ACT, "Makerspace", A("Langestraat", "160", "8000", "Brugge"), True)]),
    ("Werkgroep Sociale Tewerkstelling Aalst-Gent", "", "VZER", None, "2009-01-01", ["WESE"], (18, 67),
     "Begeleiding naar werk voor langdurig werkzoekenden.",
     [(ACT, "Kantoor Aalst", A("Korte Zoutstraat", "30", "9300", "Aalst"), True),
      (ACT, "Kantoor Gent", A("Sint-Pietersnieuwstraat", "120", "9000", "Gent"), False)]),
    ("Wijkcomité Ertvelde-Rieme", "", "FV", None, "2013-05-01", ["BWWC", "MROW"], (0, 150),
     "Wijkcomité dat opkomt voor de leefbaarheid naast de haven.",
     [(C, "", A("Riemekaai", "12", "9940", "Evergem"), True)]),
    ("Boerenmarkt Melsele", "", "FV", None, "2018-04-01", ["LAVI", "KLDU"], (0, 150),
     "Wekelijkse boerenmarkt met lokale producenten.",
     [(ACT, "Dorpsplein", A("Dorpstraat", "1", "9120", "Beveren"), True)]),
    ("Levensbeschouwelijke Gespreksgroep Hofstade", "", "FV", None, "2006-01-01", ["LEBE"], (18, 150),
     "Maandelijkse gespreksavonden over zingeving.",
     [(C, "", A("Hofstade-Dorp", "5", "9308", "Aalst"), True)]),
]

VOORNAMEN = ["Jan", "Els", "Pieter", "An", "Tom", "Sofie", "Wim", "Lien", "Bart", "Katrien", "Koen", "Annelies",
             "Stijn", "Griet", "Joris", "Marieke", "Dirk", "Hilde", "Lotte", "Arne", "Jelle", "Febe", "Ruben",
             "Nele", "Gert", "Inge", "Lucas", "Emma", "Noor", "Wout", "Yasmina", "Mohamed", "Ilse", "Ward"]
ACHTERNAMEN = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
               "De Smet", "Van den Broeck", "De Vos", "Van Damme", "Verhoeven", "De Backer", "Van Acker",
               "Vermeulen", "Van de Velde", "De Wilde", "Coppens", "Hermans", "Martens", "Verstraete", "Pauwels",
               "De Clercq", "Van Hecke", "Bogaert", "De Cock", "El Amrani", "Vanderstraeten"]
ROLLEN = ["Voorzitter", "Secretaris", "Penningmeester", "Bestuurslid", ""]


def insz(birth_year, month, day, serial):
    yy = birth_year % 100
    first9 = int(f"{yy:02d}{month:02d}{day:02d}{serial:03d}")
    base = first9 + 2_000_000_000 if birth_year >= 2000 else first9
    check = 97 - (base % 97)
    return f"{first9:09d}{check:02d}"


def kbo(first8):
    check = 97 - (first8 % 97)
    return f"{first8:08d}{check:02d}"


def slug(s):
    out = []
    for ch in s.lower():
        if ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-").replace("é", "e").replace("'", "")


def phone():
    return f"+32 {rng.choice(['53', '9', '3', '16', '50', '11', '2'])} {rng.randint(200, 899)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def mobile():
    return f"+32 4{rng.randint(70, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def build(i, a):
    naam, korte, typ, einddatum, start, acts, (mn, mx), beschr, locs = a
    vcode = f"V{1001 + i:07d}"
    is_kbo = typ in KBO_TYPES
    v = {
        "@id": f"https://data.vlaanderen.be/id/vereniging/{vcode}",
        "@type": "regorg:RegisteredOrganization" if is_kbo else "fei:FeitelijkeVerenigingen",
        "vCode": vcode,
        "verenigingstype": {"code": typ, "naam": TYPES[typ]},
        "naam": naam,
        "roepnaam": (korte or naam.split(" ")[-1]) if is_kbo else "",
        "korteNaam": korte,
        "korteBeschrijving": beschr,
        "startdatum": start,
        "einddatum": einddatum,
        "status": "Gestopt" if einddatum else "Actief",
        "doelgroep": {"@id": lid("doel", vcode), "@type": "verenigingen_ext:Doelgroep",
                      "minimumleeftijd": mn, "maximumleeftijd": mx},
    }
    # contactgegevens
    domain = slug(korte or naam)[:24].strip("-") + ".be"
    contacts = []
    cid = 0

    def contact(t, waarde, beschrijving, prim):
        nonlocal cid
        cid += 1
        contacts.append({"@id": lid("cont", vcode, cid), "@type": "schema:ContactPoint", "contactgegevenId": cid,
                         "contactgegeventype": t, "waarde": waarde, "beschrijving": beschrijving, "isPrimair": prim})

    contact("E-mail", f"info@{domain}", "Algemeen", True)
    if rng.random() < 0.4:
        contact("E-mail", f"secretariaat@{domain}", "Secretariaat", False)
    if rng.random() < 0.7:
        contact("Telefoon", phone(), "", rng.random() < 0.5)
    if rng.random() < 0.8:
        contact("Website", f"https://www.{domain}", "", True)
    if rng.random() < 0.5:
        contact("SocialMedia", f"https://www.facebook.com/{slug(naam).replace('-', '')}", "Facebook", False)
    v["contactgegevens"] = contacts
    # locaties
    locaties = []
    for n, (ltype, lnaam, (straat, nr, bus, pc, gem), prim) in enumerate(locs, start=1):
        voorstelling = f"{straat} {nr}" + (f" bus {bus}" if bus else "") + f", {pc} {gem}"
        adres_id = None if rng.random() < 0.15 else {
            "broncode": "AR", "bronwaarde": f"https://data.vlaanderen.be/id/adres/{rng.randint(100000, 9999999)}"}
        locaties.append({
            "@id": lid("loc", vcode, n), "@type": "org:Site", "locatieId": n, "locatietype": ltype,
            "isPrimair": prim, "naam": lnaam, "adresvoorstelling": voorstelling,
            "adres": {"@id": lid("adressen", vcode, n), "@type": "locn:Address", "straatnaam": straat,
                      "huisnummer": nr, "busnummer": bus, "postcode": pc, "gemeente": gem, "land": "België"},
            "adresId": adres_id,
        })
    v["locaties"] = locaties
    # vertegenwoordigers
    reps = []
    for n in range(1, rng.randint(1, 3) + 1):
        year = rng.randint(1950, 2005)
        vn, an = rng.choice(VOORNAMEN), rng.choice(ACHTERNAMEN)
        reps.append({
            "@id": lid("person", vcode, n), "@type": "person:Person", "vertegenwoordigerId": n,
            "insz": insz(year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(1, 997)),
            "voornaam": vn, "achternaam": an, "roepnaam": "" if rng.random() < 0.8 else vn[:3],
            "rol": ROLLEN[n - 1] if n <= 3 else "", "isPrimair": n == 1,
            "e-mail": f"{slug(vn)}.{slug(an).replace('-', '')}@{rng.choice(['telenet.be', 'gmail.com', 'proximus.be', domain])}",
            "telefoon": phone() if rng.random() < 0.3 else "", "mobiel": mobile() if rng.random() < 0.8 else "",
            "socialMedia": "",
        })
    v["vertegenwoordigers"] = reps
    v["hoofdactiviteitenVerenigingsloket"] = [
        {"@id": f"https://data.vlaanderen.be/id/concept/HoofdactiviteitVerenigingsloket/{c}", "@type": "skos:Concept",
         "code": c, "naam": HOOFDACTIVITEITEN[c]} for c in acts]
    gebieden = []
    for loc in locaties:
        code, gnaam = WERKINGSGEBIED.get(loc["adres"]["gemeente"], ("NVT", "Niet van toepassing"))
        if all(g["code"] != code for g in gebieden):
            gebieden.append({"@id": f"https://data.vlaanderen.be/id/concept/Werkingsgebied/{code}",
                             "@type": "skos:Concept", "code": code, "naam": gnaam})
    if not gebieden:
        gebieden = [{"@id": "https://data.vlaanderen.be/id/concept/Werkingsgebied/NVT", "@type": "skos:Concept",
                     "code": "NVT", "naam": "Niet van toepassing"}]
    v["werkingsgebieden"] = gebieden

    def sleutel(bron, waarde):
        return {"@id": lid("identificatoren", vcode, bron), "@type": "adms:Identifier", "bron": bron,
                "waarde": waarde, "codeerSysteem": bron,
                "gestructureerdeIdentificator": {"@id": lid("ges", vcode, bron),
                                                 "@type": "generiek:GestructureerdeIdentificator", "nummer": waarde}}

    sleutels = [sleutel("VR", vcode)]
    if is_kbo:
        sleutels.append(sleutel("KBO", kbo(rng.choice([4, 8, 7]) * 1_000_000 + rng.randint(0, 999_999))))
    v["sleutels"] = sleutels
    v["relaties"] = []
    v["lidmaatschappen"] = []
    v["erkenningen"] = []
    return v


def main():
    out = [build(i, a) for i, a in enumerate(ASSOCIATIONS)]
    by_name = {v["naam"]: v for v in out}
    # a few memberships (lidmaatschappen) between seed associations
    links = [("Chiro Sint-Jozef Aalst", "Vereniging Vlaamse Jeugdherbergen Aalst", "2015-01-01"),
             ("Chiro Melsele", "Koninklijke Sportkring Beveren Jeugd", "2019-09-01"),
             ("Repair Café Evergem", "Zorgnetwerk Meetjesland-Evergem", "2018-01-01")]
    for n, (a, b, van) in enumerate(links, start=1):
        src = by_name[a]
        dst = next(v for v in out if v["naam"].endswith(b) or v["naam"] == b)
        src["lidmaatschappen"].append({
            "@id": lid("lid", src["vCode"], n), "@type": "verenigingen_ext:Lidmaatschap", "lidmaatschapId": 1,
            "andereVereniging": dst["vCode"], "naam": dst["naam"], "van": van, "tot": "",
            "identificatie": "", "beschrijving": "Lid van de koepel"})
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
