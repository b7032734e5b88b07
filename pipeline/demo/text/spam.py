"""Automated and growth-hacking accounts: spam bots, bought fake followers, follow-for-follow
accounts and honest (self-declared) bots.

Spam templates are deliberately repetitive: near-duplicate texts are what such accounts post.
"""

SPAM_BOT = {
    "posts": [
        "🚀 {coin} is about to explode! Join our signal group before it's too late: {link}",
        "🚀🚀 {coin} to the moon! Our members made {pct}% this week. Join free: {link}",
        "Don't miss the {coin} airdrop! Claim your free tokens now 👉 {link}",
        "🔥 Last chance: {coin} presale ends tonight! {link}",
        "Earn ${usd} a day from home, no experience needed! DM me for details 💰",
        "I made ${usd} last week working from my phone. Ask me how 👇 {link}",
        "Want to earn passive income? Click here: {link}",
        "Hi dear, I am new here and looking for friends 😘 check my profile {link}",
        "Lonely tonight? 💋 Real girls near you: {link}",
        "Buy followers, likes and views! Cheap and fast ✅ {link}",
        "Get 10,000 real followers in 24 hours! 100% safe {link}",
        "Congratulations! You have been selected for a ${usd} gift card 🎁 {link}",
        "Your account has been flagged. Verify now to avoid suspension: {link}",
        "💎 {coin} giveaway! Send 0.1 ETH and receive 1 ETH back! {link}",
        "Best VPN deal of the year, 90% off today only 👉 {link}",
        "Cheap designer bags and watches, free shipping worldwide {link}",
        "Crypto trading bot with {pct}% monthly returns. Try it now {link}",
        "Work with me and change your life 💸 {link}",
    ],
    "replies": [
        "Great post! Check my profile for more 💯",
        "Nice! DM me for a collaboration 📩",
        "Wow amazing 😍 {link}",
        "Interesting. Earn crypto while you sleep 👉 {link}",
        "Follow me for daily signals 🚀",
    ],
    "hashtags": ["#crypto", "#bitcoin", "#airdrop", "#giveaway", "#NFT", "#money", "#forex",
                 "#makemoneyonline", "#web3"],
    "emoji": ["🚀", "💰", "🔥", "💎", "✅", "👉", "💸"],
    "bio": [
        "Crypto | NFT | Web3 💰 DM for promo",
        "💸 Financial freedom 💸 Link below 👇",
        "Forex signals, 90% accuracy 📈",
        "Get rich with crypto 🚀 Free signals group",
        "DM for business 📩",
        "Helping you earn from home 💰",
        "Official giveaway account 🎁",
        "Promotions and collabs, DM 📩",
        "🔥 Best deals online 🔥",
    ],
    "fills": {
        "coin": ["$PEPE2", "$MOONX", "$SAFEAI", "$DOGEKING", "$ELONCAT", "$SHIBX", "$FLOKI3",
                 "$GROKINU"],
        "pct": ["300", "450", "500", "870", "1000", "1200"],
        "usd": ["500", "800", "1,000", "2,500", "5,000"],
    },
    "link_domains": ["bit.ly", "tinyurl.com", "t.ly", "cutt.ly", "rb.gy", "is.gd", "shorturl.at"],
}

FAKE_FOLLOWER = {
    "posts": [
        "Hello everyone!",
        "Hello world 👋",
        "Good morning ☀️",
        "Good night 🌙",
        "Have a nice day!",
        "Happy Monday!",
        "Nice day today.",
        "Life is beautiful ❤️",
        "Believe in yourself.",
        "Dream big, work hard.",
        "Stay positive ✨",
        "Every day is a new beginning.",
        "Thank you for following!",
        "New here, hi!",
        "Good vibes only ✨",
        "Weekend mood 😎",
        "Coffee time ☕",
        "Never give up.",
    ],
    "bio": [
        "", "", "", "", "Love life ❤️", "Just me", "Hello", "Live laugh love", "Be happy 😊",
        "Dreamer", "🌸", "Good vibes only", "Student",
    ],
}

FOLLOW4FOLLOW = {
    "posts": [
        "Follow me and I'll follow back 💯 #f4f #followback",
        "Looking for new friends! Follow me, I follow back everyone 🔁",
        "Road to {k}K! Thanks for all the support 🙏 #followforfollow",
        "Drop your handle below and I'll follow you 👇",
        "Like and boost this for a follow back! ❤️ #f4f",
        "Who wants to grow together? Follow me and comment 'done' ✅",
        "I follow back 100%! No unfollow, promise 🤝 #followback #f4f",
        "New followers welcome! Say hi and I'll follow back 👋",
        "Boost this if you follow back 🔁 #followtrain",
        "Follow train 🚂 Follow everyone who boosts this! #followtrain #f4f",
        "Almost {k}K followers! Help me get there 🙏",
        "Mutuals only. Follow me, I follow back fast ⚡",
        "Want more followers? Follow me and everyone in the replies! #growth",
        "Thank you for {k},000 followers! 🎉",
    ],
    "topical": [
        "{topic} lovers, follow me and I follow back! {emoji} #f4f",
        "Following all {topic} accounts today! Follow back please {emoji} #followback",
        "Building a {topic} community, follow me and I follow back 💯 {emoji}",
        "All {topic} fans, let's connect! Follow and I follow back {emoji}",
    ],
    "topics": {
        "baking": ("Sourdough", "🍞"),
        "cycling": ("Cycling", "🚲"),
        "gardening": ("Gardening", "🌱"),
    },
    "bio": [
        "Follow me and I follow back 💯 #f4f",
        "Growth | Marketing | {k}K+ community 🚀",
        "I follow back 100% 🔁",
        "Influencer | Collabs DM 📩 | #followback",
        "Digital creator ✨ Follow for follow",
        "Mutuals welcome 🤝 Follow back always",
        "Lifestyle | Travel | Food ✨ I follow back",
        "Growing together 🌱 #followforfollow",
    ],
}

HONEST_BOT = {
    # name -> (display name, bio, templates); templates share the ``fills`` below.
    "kinds": {
        "bread_tips": (
            "Daily Bread Tip 🤖",
            "I am a bot. I post one bread-baking tip every morning at 7:00. Run by a human baker.",
            [
                "Bread tip #{n}: {bread_tip}",
                "Tip of the day: {bread_tip}",
            ],
        ),
        "weather": (
            "Weather Bot {city}",
            "Automated hourly weather for {city}. Data from the national weather service. "
            "I am a bot.",
            [
                "{city}, {hour}:00: {temp}°C, {sky}. Wind {wind} km/h.",
                "Weather {city} at {hour}:00: {sky}, {temp}°C, humidity {hum}%.",
            ],
        ),
        "frost": (
            "Frost Alert for Gardeners",
            "Bot. Posts a warning when night frost is forecast. Protect your seedlings! 🌱",
            [
                "Frost warning for tonight: minimum {neg}°C expected. Cover your seedlings! ❄️",
                "No frost expected tonight, lowest {pos}°C. 🌱",
            ],
        ),
        "bike_news": (
            "Cycling News Feed",
            "Unofficial bot posting headlines from cycling news sites. Not affiliated.",
            [
                "New article: {bike_headline} {link}",
                "{bike_headline} {link}",
            ],
        ),
        "garden_rss": (
            "Allotment Society RSS",
            "Automated feed of the allotment society blog. Bot account.",
            [
                "New post on the blog: {garden_headline} {link}",
            ],
        ),
    },
    "fills": {
        "bread_tip": [
            "a wetter dough ferments faster, so keep an eye on it.",
            "let your loaf cool for at least an hour before slicing.",
            "rice flour in the banneton stops sticking.",
            "use the fridge to fit fermentation around your day.",
            "feed your starter at a 1:5:5 ratio if your kitchen is warm.",
            "bake a little longer than you think; a dark crust tastes better.",
            "add salt after the autolyse for easier mixing.",
            "weigh everything, including the water.",
            "a bowl scraper is the cheapest upgrade to your baking.",
            "rye dough needs acidity, not kneading.",
            "steam in the first twenty minutes gives a better oven spring.",
            "store bread cut side down on a wooden board.",
        ],
        "sky": ["clear", "partly cloudy", "overcast", "light rain", "showers", "fog", "sunny",
                "thunderstorms", "drizzle", "snow showers"],
        "bike_headline": [
            "City announces twenty new kilometres of protected bike lanes",
            "Ten touring routes to try this summer",
            "How to choose the right tyres for gravel",
            "Cycling to work rises for the third year in a row",
            "Night trains add more bike spaces on European routes",
            "Study finds bike commuters take fewer sick days",
            "Five ways to winterise your bike",
            "Cargo bike subsidies extended for another year",
        ],
        "garden_headline": [
            "Plot inspections next Saturday",
            "Seed swap in the clubhouse this Sunday",
            "How to deal with blight in a wet summer",
            "Water restrictions lifted for all plots",
            "New composting rules for the communal heap",
            "Open day and plant sale on the first of May",
        ],
        "city": ["Berlin", "Leipzig", "Hamburg", "Bristol", "Manchester", "Vienna"],
    },
}
