"""Who the accounts are: names, places, instances, profile fragments and decision notes."""

# ruff: noqa: E501  (one sentence per line, however long, is easier to read and edit)

FIRST_NAMES = {
    "en": ["Anna", "Tom", "Sarah", "James", "Emily", "Oliver", "Hannah", "Jack", "Lucy", "Sam",
           "Chloe", "Daniel", "Megan", "Ben", "Rosie", "Alex", "Grace", "Matt", "Ellie", "Chris",
           "Fiona", "Owen", "Priya", "Kwame", "Aisha", "Liam", "Nora", "Rob", "Isla", "Dave",
           "Maggie", "Jo", "Kate", "Pete", "Ruth", "Will", "Amara", "Hugh", "Tess", "Ravi"],
    "de": ["Lena", "Jonas", "Katrin", "Felix", "Julia", "Lukas", "Sabine", "Moritz", "Anke",
           "Tobias", "Miriam", "Jan", "Birgit", "Stefan", "Franzi", "Matthias", "Ines", "Henrik",
           "Ulla", "Paul", "Greta", "Sven", "Heike", "Timo", "Carla", "Bernd", "Nele", "Kai"],
    "es": ["Lucía", "Javier", "Carmen", "Pablo", "Marta", "Diego", "Elena", "Sergio", "Alba",
           "Andrés", "Nuria", "Raúl"],
    "pt": ["Ana", "João", "Beatriz", "Pedro", "Mariana", "Rafael", "Camila", "Tiago", "Larissa",
           "Bruno", "Inês", "Gustavo"],
    "fr": ["Camille", "Julien", "Léa", "Mathieu", "Chloé", "Antoine", "Manon", "Nicolas",
           "Élodie", "Hugo", "Margaux", "Baptiste"],
    "it": ["Giulia", "Marco", "Chiara", "Luca", "Francesca", "Matteo", "Sara", "Alessandro",
           "Elisa", "Davide", "Martina", "Simone"],
    "ru": ["Анна", "Дмитрий", "Мария", "Алексей", "Екатерина", "Сергей", "Ольга", "Иван",
           "Наталья", "Михаил"],
    "ja": ["さくら", "ゆうき", "はるか", "たけし", "みさき", "けんた", "あおい", "りょう", "なな", "しょう"],
    "tr": ["Elif", "Mehmet", "Zeynep", "Emre", "Ayşe", "Burak", "Selin", "Can", "Deniz", "Murat"],
}

LAST_NAMES = {
    "en": ["Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Clarke", "Patel",
           "Murphy", "O'Brien", "Campbell", "Hall", "Wright", "Baker", "Green", "Carter", "Price",
           "Okafor", "Reid", "Fletcher", "Shaw", "Lloyd", "Harper"],
    "de": ["Müller", "Schmidt", "Becker", "Wagner", "Hoffmann", "Schulz", "Koch", "Richter",
           "Wolf", "Neumann", "Krüger", "Hartmann", "Lange", "Brandt", "Vogel", "Fischer",
           "Zimmermann", "Kaiser"],
    "es": ["García", "Martínez", "López", "Sánchez", "Romero", "Navarro", "Torres", "Ruiz"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira"],
    "fr": ["Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard", "Lefèvre", "Roux"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"],
    "ru": ["Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова",
           "Новиков"],
    "ja": ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"],
    "tr": ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk"],
}

# Latin spellings for handles (Mastodon usernames allow only a-z, 0-9 and _).
ROMAN_NAMES = {
    "ru": ["anna", "dima", "masha", "alexey", "katya", "sergey", "olga", "ivan", "natasha",
           "misha"],
    "ja": ["sakura", "yuki", "haruka", "takeshi", "misaki", "kenta", "aoi", "ryo", "nana", "sho"],
}

LOCATIONS = {
    "en": ["Leeds", "Bristol", "Manchester", "Glasgow", "London", "Brighton", "Cardiff",
           "Edinburgh", "Norwich", "York", "Portland, OR", "Toronto", "Melbourne", "Dublin",
           "Sheffield", "Minneapolis", "Wellington", "Cornwall", "the Peak District", "Yorkshire"],
    "de": ["Berlin", "Leipzig", "Hamburg", "München", "Köln", "Freiburg", "Dresden", "Wien",
           "Zürich", "Münster", "Bremen", "Kassel", "Ruhrgebiet", "Schwarzwald", "Kiel"],
    "es": ["Madrid", "Sevilla", "Valencia", "Barcelona", "Bilbao", "Ciudad de México",
           "Buenos Aires"],
    "pt": ["Lisboa", "Porto", "São Paulo", "Rio de Janeiro", "Recife", "Curitiba"],
    "fr": ["Paris", "Lyon", "Nantes", "Bordeaux", "Lille", "Montréal", "Marseille"],
    "it": ["Milano", "Roma", "Bologna", "Torino", "Napoli", "Firenze"],
    "ru": ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"],
    "ja": ["東京", "大阪", "京都", "札幌", "福岡", "横浜"],
    "tr": ["İstanbul", "İzmir", "Ankara", "Antalya", "Bursa"],
    "bot": ["USA", "New York", "London, UK", "Worldwide", "Dubai", "Earth 🌍", "Los Angeles"],
}

# Mastodon servers per language; the persona's home server shows accounts without a domain.
HOME_INSTANCE = "mastodon.social"
INSTANCES = {
    "en": ["mastodon.social", "mastodon.online", "mas.to", "mstdn.social", "mastodon.world",
           "toot.community", "social.coop", "mastodon.scot", "aus.social", "hachyderm.io"],
    "de": ["mastodon.social", "chaos.social", "norden.social", "troet.cafe", "det.social",
           "muenchen.social", "berlin.social", "mastodon.online"],
    "es": ["masto.es", "mastodon.social", "mastodon.uy"],
    "pt": ["mastodon.com.br", "ciberlandia.pt", "mastodon.social"],
    "fr": ["mamot.fr", "piaille.fr", "framapiaf.org", "mastodon.social"],
    "it": ["mastodon.uno", "livellosegreto.it", "mastodon.social"],
    "ru": ["mastodon.social", "lor.sh"],
    "ja": ["mstdn.jp", "fedibird.com", "pawoo.net"],
    "tr": ["mastodon.social", "mastoturk.org"],
    "software": ["fosstodon.org", "hachyderm.io", "infosec.exchange"],
    "bot": ["mastodon.social", "mastodon.online", "mstdn.social", "mastodon.world",
            "social.vivaldi.net", "mas.to"],
}

# Words people put in their handles next to their name.
HANDLE_WORDS = {
    "baking": ["bakes", "bread", "crumb", "loaf", "rye", "dough", "levain"],
    "cycling": ["rides", "cycles", "pedals", "bikes", "velo", "spokes", "wheels"],
    "gardening": ["grows", "garden", "plot", "veg", "seeds", "allotment", "green"],
    "football": ["fc", "footy", "ultra", "goal"],
    "gaming": ["plays", "gamer", "pixel", "gg"],
    "crypto": ["trades", "hodl", "sats", "charts"],
    "fashion": ["style", "wears", "thrift", "stitch"],
    "politics": ["votes", "policy", "news"],
    "software": ["dev", "codes", "hacks", "ops"],
    "music": ["music", "tunes", "bass", "sings"],
}

# Life beyond the hobby: the second fragment of many bios.
LIFE = {
    "en": ["Parent of two", "Two kids, one dog", "Nurse",
           "Secondary school teacher", "Retired engineer", "PhD student", "Librarian",
           "Dog person", "Cat person", "Vegetarian", "Architect", "Carpenter", "Social worker",
           "Midwife", "GP", "Bus driver", "Accountant by day", "Civil servant", "Translator",
           "Coffee addict", "Amateur photographer", "Slow living", "Opinions my own",
           "Lives with two cats and a lot of plants", "Climbing, reading and tea"],
    "de": ["Zwei Kinder, ein Hund", "Pflege im Krankenhaus", "Lehrkraft an einer Grundschule",
           "Ingenieurwesen, jetzt im Ruhestand", "Promoviere in Biologie",
           "Arbeite in der Stadtbibliothek", "Hundemensch", "Katzenmensch", "Tischlerei",
           "Soziale Arbeit", "Kaffee first", "Fotografiere gern", "Meinungen sind meine eigenen",
           "Lebt mit zwei Katzen und vielen Pflanzen"],
}

# Bios that say nothing about who the person is.
EMPTY_BIOS = ["", "", "", ".", "-", "..."]
EMOJI_BIOS = ["🌻", "✨", "🌈✨", "🐱", "☕️", "🍞🚲🌱", "🌿🌿🌿", "❤️", "🙂", "🌊🌙", "🖤", "🎶🎧",
              "🐶🐾", "🌸🌸"]
HASHTAG_BIOS = ["#bread #bikes", "#gardening", "#life", "#sourdough", "#fediverse #newhere",
                "#cycling #coffee", "#music", "#photography", "#nofilter", "#vegan"]
LINK_BIOS = ["https://linktr.ee/{handle}", "https://{handle}.carrd.co", "https://instagram.com/{handle}",
             "linktr.ee/{handle}", "https://beacons.ai/{handle}"]

URLS = ["https://{handle}.blog", "https://pixelfed.social/{handle}", "https://{handle}.net",
        "https://linktr.ee/{handle}", "https://www.{handle}.de", "https://{handle}.github.io",
        "https://{handle}.wordpress.com", "https://ko-fi.com/{handle}"]

# Organisations among the followers: she forgives a low ratio from a cycling club.
CLUBS = {
    "cycling": [("Riverside Cycling Club", "en"), ("Critical Mass Leipzig", "de"),
                ("ADFC Ortsgruppe Nord", "de"), ("Eastside Wheelers CC", "en"),
                ("Audax Club North", "en"), ("Kidical Mass Köln", "de"),
                ("Women on Wheels Bristol", "en"), ("RSV Blitz 1911 e.V.", "de"),
                ("Valley Road Cycling Club", "en"), ("Bike Kitchen Community Workshop", "en")],
    "baking": [("Crumb & Co. Bakery", "en"), ("Backstube am Markt", "de"),
               ("The Real Bread Corner", "en"), ("Bäckerei Sonnenkorn", "de"),
               ("Little Rye Micro Bakery", "en")],
    "gardening": [("Eastside Community Garden", "en"), ("Prinzessinnengarten Kollektiv", "de"),
                  ("Riverside Allotment Society", "en"), ("Gemeinschaftsgarten Südstadt", "de"),
                  ("City Seed Library", "en")],
}
CLUB_BIOS = {
    "cycling": {"en": "Friendly club rides every Saturday at 9 from the market square. All paces "
                      "welcome.",
                "de": "Gemeinsam für sichere Radwege. Treffpunkt jeden letzten Freitag im Monat."},
    "baking": {"en": "Small-batch sourdough bakery. Open Wed to Sat, bread until it's gone.",
               "de": "Handwerksbäckerei mit Sauerteig und Zeit. Mo bis Sa ab 7 Uhr."},
    "gardening": {"en": "Volunteer-run community garden. Work days every Sunday, everyone welcome.",
                  "de": "Gemeinschaftsgarten mitten in der Stadt. Mitmachen jeden Samstag."},
}

# Accounts the persona follows that never followed her.
FOLLOWEES = [
    ("Bread Matters Magazine", "breadmatters", "en", "baking"),
    ("The Real Bread Campaign", "realbread", "en", "baking"),
    ("Plötzblog", "ploetzblog", "de", "baking"),
    ("Sourdough Library", "sourdoughlibrary", "en", "baking"),
    ("Cycling Touring Digest", "touringdigest", "en", "cycling"),
    ("EuroVelo", "eurovelo", "en", "cycling"),
    ("ADFC Bundesverband", "adfc", "de", "cycling"),
    ("Bikepacking Journal", "bikepackingjournal", "en", "cycling"),
    ("Garden Organic", "gardenorganic", "en", "gardening"),
    ("No Dig Gardening", "nodig", "en", "gardening"),
    ("Urban Growers Network", "urbangrowers", "en", "gardening"),
    ("Slow Food Deutschland", "slowfood_de", "de", "baking"),
    ("Seed Savers Exchange", "seedsavers", "en", "gardening"),
    ("Velo City Berlin", "velocity_berlin", "de", "cycling"),
    ("Allotment Life", "allotmentlife", "en", "gardening"),
    ("Wild Yeast Collective", "wildyeast", "en", "baking"),
]

# Notes the persona left on a few of her decisions, by her main reason.
NOTES = {
    "yes_topic": ["lovely crumb shots", "great bike touring posts", "allotment neighbour vibes",
                  "met at the bread festival", "always has good tips", "same club",
                  "their rye posts are the best"],
    "yes_friend": ["my sister", "old friend from uni", "neighbour from the third floor",
                   "colleague from the bakery", "my cousin in Lisbon", "climbing partner",
                   "school friend", "my godmother", "Tom from the allotment"],
    "no_exception": ["ex, no thanks", "my boss, keeping work separate",
                     "had an argument at the club", "landlord, no"],
    "no_language": ["can't read it, sadly", "wish I spoke the language"],
    "no_bot": ["bot", "spam", "looks fake", "obvious spam bot"],
    "no_ratio": ["follow-for-follow account", "only wants follows"],
    "no_toxic": ["rude in replies", "nasty comments", "too aggressive"],
    "no_topic": ["nothing in common", "only crypto", "not my thing"],
    "no_private": ["locked and no bio"],
}
