"""Vocabulary for the simulated world: names, industries, places. Data only."""

FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Steven Ashley Paul "
    "Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie "
    "Oliver Amelia Harry Isla Jack Ava Noah Mia Leo Sophie Lukas Hannah Felix Lea Jonas Anna Emma Louis Chloé "
    "Hugo Camille Lucas Manon Sven Ingrid Lars Astrid Pieter Sanne Daan Femke Giulia Marco Alessandro Chiara "
    "Sofía Mateo Lucía Diego Valentina Santiago Priya Arjun Ananya Rohan Wei Li Hiroshi Yuki Kenji Sakura "
    "Min-jun Ji-woo Olumide Chiamaka Kwame Amara Fatima Omar Aisha Youssef Zoë Björn Søren Łukasz Agnieszka"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois Durand Lefebvre Moreau Laurent Rossi "
    "Russo Ferrari Esposito Bianchi Jansen de Vries van den Berg Bakker Visser Andersson Johansson Karlsson "
    "Nielsen Hansen Kowalski Nowak Silva Santos Oliveira Sato Suzuki Takahashi Tanaka Kim Park Choi Patel "
    "Sharma Singh Gupta Chen Wang Zhang Liu Okafor Adeyemi Mensah Haddad O'Brien McCarthy Murphy Ó Súilleabháin"
).split()
COMPANY_A = (
    "Acme Apex Blue Bright Cedar Clear Core Crest Delta Echo Ever First Global Green Harbor High Iron Keystone "
    "Lumen Meridian North Nova Oak Omni Peak Pine Prime Quantum Red River Silver Solid Star Stone Summit True "
    "Unity Vertex Vista West Zenith Alpine Atlas Beacon Cobalt Falcon Granite Horizon Juniper Maple Orbit Pioneer"
).split()
COMPANY_B = (
    "Analytics Bank Bio Builders Capital Chemicals Cloud Consulting Data Devices Dynamics Energy Engineering Foods "
    "Freight Health Industries Insurance Labs Logistics Machines Media Medical Metals Motors Networks Partners "
    "Pharma Robotics Retail Software Solutions Systems Technologies Telecom Textiles Tools Ventures Works"
).split()
SUFFIXES = {
    "US": ("Inc.", "LLC", "Corp.", "Corporation", "Co."), "GB": ("Ltd", "Limited", "PLC"), "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "FR": ("SA", "SAS", "SARL"), "NL": ("B.V.", "N.V."), "CA": ("Inc.", "Ltd."), "AU": ("Pty Ltd",), "SE": ("AB",),
    "ES": ("S.L.", "S.A."), "IT": ("S.p.A.", "S.r.l."), "JP": ("K.K.",), "IN": ("Pvt Ltd",), "BR": ("Ltda.",),
}  # fmt: skip
TLD = {"US": ".com", "GB": ".co.uk", "DE": ".de", "FR": ".fr", "NL": ".nl", "CA": ".ca", "AU": ".com.au", "SE": ".se",
       "ES": ".es", "IT": ".it", "JP": ".co.jp", "IN": ".in", "BR": ".com.br"}  # fmt: skip
COUNTRIES = (("US", 40), ("GB", 11), ("DE", 9), ("FR", 6), ("CA", 6), ("AU", 5), ("NL", 5), ("SE", 3), ("ES", 3),
             ("IT", 3), ("JP", 3), ("IN", 4), ("BR", 2))  # fmt: skip
CITIES = {
    "US": (("New York", "NY", "10001"), ("San Francisco", "CA", "94105"), ("Chicago", "IL", "60601"),
           ("Austin", "TX", "73301"), ("Boston", "MA", "02110"), ("Seattle", "WA", "98101"), ("Atlanta", "GA", "30303"),
           ("Denver", "CO", "80202")),
    "GB": (("London", "England", "EC1A 1BB"), ("Manchester", "England", "M1 1AE"), ("Edinburgh", "Scotland", "EH1 1YZ")),
    "DE": (("Berlin", "BE", "10115"), ("München", "BY", "80331"), ("Hamburg", "HH", "20095")),
    "FR": (("Paris", "IDF", "75001"), ("Lyon", "ARA", "69001")), "CA": (("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1")),
    "AU": (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")), "NL": (("Amsterdam", "NH", "1012"), ("Rotterdam", "ZH", "3011")),
    "SE": (("Stockholm", "AB", "111 20"),), "ES": (("Madrid", "MD", "28001"), ("Barcelona", "CT", "08001")),
    "IT": (("Milano", "MI", "20121"), ("Roma", "RM", "00118")), "JP": (("Tokyo", "13", "100-0001"),),
    "IN": (("Bengaluru", "KA", "560001"), ("Mumbai", "MH", "400001")), "BR": (("São Paulo", "SP", "01000-000"),),
}  # fmt: skip
PHONE_PREFIX = {"US": "+1 415 555 ", "GB": "+44 20 7946 ", "DE": "+49 30 901820", "FR": "+33 1 70 18 ", "CA": "+1 416 555 ",
                "AU": "+61 2 5550 ", "NL": "+31 20 794 ", "SE": "+46 8 506 ", "ES": "+34 91 123 ", "IT": "+39 02 1234 ",
                "JP": "+81 3 1234 ", "IN": "+91 80 4000 ", "BR": "+55 11 3000 "}  # fmt: skip
# industry, SIC, NAICS, fit bias, revenue per employee (k$)
INDUSTRIES = (
    ("Software", "7372", "513210", 0.9, 250), ("IT Services", "7373", "541512", 0.7, 180),
    ("Financial Services", "6211", "523150", 0.6, 400), ("Banking", "6021", "522110", 0.5, 350),
    ("Insurance", "6311", "524113", 0.4, 380), ("Healthcare", "8062", "622110", 0.3, 150),
    ("Manufacturing", "3559", "333249", 0.4, 220), ("Retail", "5311", "455110", 0.2, 200),
    ("Telecommunications", "4813", "517111", 0.6, 450), ("Logistics", "4213", "484121", 0.3, 160),
    ("Education", "8221", "611310", 0.1, 90), ("Media", "7812", "512110", 0.4, 210),
    ("Energy", "4911", "221118", 0.3, 600), ("Pharmaceuticals", "2834", "325412", 0.5, 500),
    ("Professional Services", "8742", "541611", 0.5, 170),
)  # fmt: skip
DEPARTMENTS = (("Marketing", 0.9), ("Sales", 0.8), ("IT", 0.7), ("Operations", 0.5), ("Finance", 0.4), ("Engineering", 0.6),
               ("HR", 0.1), ("Legal", 0.05), ("Customer Success", 0.5))  # fmt: skip
SENIORITIES = (("C-Level", "Chief {d} Officer", 0.9, 2), ("VP", "VP of {d}", 0.9, 4), ("Director", "Director of {d}", 0.8, 10),
               ("Manager", "{d} Manager", 0.6, 25), ("Individual Contributor", "{d} Specialist", 0.3, 45),
               ("Intern", "{d} Intern", 0.0, 4))  # fmt: skip
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "web.de", "orange.fr")
PRODUCTS = ("analytics", "automation", "platform")
CAMPAIGNS = (
    ("Search – brand", "paid_search", 24000), ("Search – competitors", "paid_search", 41000),
    ("LinkedIn – ABM Q1", "paid_social", 36000), ("LinkedIn – ABM Q3", "paid_social", 38000),
    ("Webinar: Data maturity", "webinar", 8000), ("Webinar: Automation ROI", "webinar", 9500),
    ("Trade show – SaaStr", "event", 65000), ("Trade show – Web Summit", "event", 52000),
    ("Newsletter", "email", 3000), ("Nurture – analytics", "email", 2500), ("eBook: Lead scoring", "content", 12000),
    ("Partner referrals", "partner", 15000), ("Review sites", "paid_review", 18000), ("Organic", "organic", 0),
)  # fmt: skip
